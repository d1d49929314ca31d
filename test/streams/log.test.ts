import { describe, expect, it } from "vitest";
import { StreamLog } from "../../src/streams/log.ts";
import type { RelayedEvent } from "../../src/streams/relay.ts";

const ID = "9b2f7c1e-4a3d-4c5e-8f6a-1b2c3d4e5f60";

const chunks = (): RelayedEvent => ({
  streamId: ID,
  sequence: 0,
  kind: "chunks",
  namespace: "default",
  chunks: [{ id: "c1", text: "Chunks are ranked by score.", score: 0.9 } as never],
  errors: [],
});

const delta = (sequence: number, content: string, finishReason: string | null = null) =>
  ({ streamId: ID, sequence, kind: "delta", content, finishReason }) as RelayedEvent;

const done = (sequence: number, content: string): RelayedEvent => ({
  streamId: ID,
  sequence,
  kind: "done",
  completion: {
    namespace: "default",
    response: {
      id: "cmpl-1",
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      chunks: [],
      errors: [],
    },
  },
});

const failed = (sequence: number, code: string): RelayedEvent => ({
  streamId: ID,
  sequence,
  kind: "failed",
  code,
  message: "It broke.",
  retryable: code !== "CANCELLED",
});

/** Deltas of varied length, including an empty one carrying only the finish reason. */
const CONTENTS = ["Chunks ", "are ranked", " by", " reciprocal rank fusion", ".", "", " é😀"];

function answer(): RelayedEvent[] {
  const events = [chunks()];
  CONTENTS.forEach((content, i) => {
    const last = i === CONTENTS.length - 1;
    events.push(delta(i + 1, content, last ? "stop" : null));
  });
  events.push(done(events.length, CONTENTS.join("")));
  return events;
}

function logOf(events: RelayedEvent[]): StreamLog {
  const log = new StreamLog(ID);
  for (const event of events) expect(log.append(event)).toBe(true);
  return log;
}

/** What a follower from after `afterSequence` is sent: every event from there, in order. */
function replay(log: StreamLog, afterSequence: number): RelayedEvent[] {
  const out: RelayedEvent[] = [];
  for (let s = afterSequence + 1; log.at(s); s++) out.push(log.at(s)!);
  return out;
}

describe("StreamLog", () => {
  it("replays a finished answer from every point exactly as it was relayed", () => {
    const events = answer();
    const log = logOf(structuredClone(events));
    expect(log.length).toBe(events.length);
    expect(log.ended).toBe(true);
    for (let after = -1; after < events.length; after++) {
      expect(replay(log, after)).toEqual(events.slice(after + 1));
    }
    expect(log.at(events.length)).toBeUndefined();
    expect(log.at(-1)).toBeUndefined();
  });

  it("replays a live stream from every point after each event, the finish reason on its delta", () => {
    const events = answer().slice(0, -1);
    const log = new StreamLog(ID);
    for (const [n, event] of events.entries()) {
      log.append(structuredClone(event));
      expect(log.ended).toBe(false);
      for (let after = -1; after <= n; after++) {
        expect(replay(log, after)).toEqual(events.slice(after + 1, n + 1));
      }
    }
    const finishReasons = replay(log, 0).map((e) => (e.kind === "delta" ? e.finishReason : "?"));
    expect(finishReasons).toEqual([null, null, null, null, null, null, "stop"]);
  });

  it("keeps a finish reason set on a delta before the last", () => {
    const events = [chunks(), delta(1, "a", "length"), delta(2, "b"), delta(3, "c", "stop")];
    expect(replay(logOf(structuredClone(events)), -1)).toEqual(events);
  });

  it.each(["UPSTREAM_ERROR", "CANCELLED", "STREAM_LIMIT_EXCEEDED"])(
    "replays a stream that ended %s after some deltas, and one that failed before its chunks",
    (code) => {
      const events = [chunks(), delta(1, "Chunks "), delta(2, "are"), failed(3, code)];
      const log = logOf(structuredClone(events));
      expect(log.ended).toBe(true);
      for (let after = -1; after < events.length; after++) {
        expect(replay(log, after)).toEqual(events.slice(after + 1));
      }
      const early = logOf([failed(0, code)]);
      expect(replay(early, -1)).toEqual([failed(0, code)]);
      expect(early.length).toBe(1);
    },
  );

  it("refuses repeated, skipped, misplaced and late events, and its replay stays whole", () => {
    const events = answer();
    const log = new StreamLog(ID);
    expect(log.append(delta(0, "no chunks yet"))).toBe(false);
    expect(log.append(chunks())).toBe(true);
    expect(log.append(chunks())).toBe(false); // repeated
    expect(log.append(delta(2, "skips 1"))).toBe(false); // out of order
    expect(log.append(delta(1, "Chunks "))).toBe(true);
    expect(log.append(delta(1, "Chunks "))).toBe(false); // repeated
    expect(log.append({ ...chunks(), sequence: 2 })).toBe(false); // a second chunks event
    expect(log.append({ ...delta(2, "x"), streamId: "another" })).toBe(false);
    for (const event of events.slice(2)) expect(log.append(event)).toBe(true);
    expect(log.append(delta(events.length, "after the end"))).toBe(false);
    expect(log.append(failed(events.length, "CANCELLED"))).toBe(false);
    expect(replay(log, -1)).toEqual(events);
  });

  it("leaves the done event's assembled answer as relayed", () => {
    const events = answer();
    const log = logOf(events);
    const last = log.at(events.length - 1);
    expect(last?.kind).toBe("done");
    if (last?.kind !== "done") return;
    expect(last.completion.response.choices[0]?.message.content).toBe(CONTENTS.join(""));
  });
});
