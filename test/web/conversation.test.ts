import { describe, expect, it } from "vitest";
import {
  applyToTurn,
  type Chunk,
  messagesFor,
  newTurn,
  type StreamEvent,
  type Turn,
  type TurnAction,
} from "../../web/src/conversation.ts";
import { segmentAnswer } from "../../web/src/references.ts";

const chunk = (key: string, chunkId = `id-${key}`): Chunk => ({
  chunkId,
  instanceId: "docs",
  score: 0.5,
  text: `text of ${key}`,
  item: { key },
});
const streamId = "7d3a1a8e-52f4-4b7e-9d1c-0a6f2b8c9e10";
const chunksEvent: StreamEvent = {
  __typename: "ChatCompletionChunksEvent",
  streamId,
  sequence: 0,
  chunks: [chunk("a.md"), chunk("b.md")],
  errors: [{ instanceId: "broken", message: "instance is paused" }],
};
/** Deltas follow the chunks event: the first is sequence 1. */
const delta = (sequence: number, content: string): StreamEvent => ({
  __typename: "ChatCompletionDeltaEvent",
  streamId,
  sequence,
  content,
});
const done = (content: string | null, sequence = 99): StreamEvent => ({
  __typename: "ChatCompletionDoneEvent",
  streamId,
  sequence,
  completion: { id: "c1", model: "local/extractive", content },
});

const run = (actions: TurnAction[], turn: Turn = newTurn(1, "Q?", "default", ["docs"])) =>
  actions.reduce(applyToTurn, turn);
const events = (...list: StreamEvent[]): TurnAction[] =>
  list.map((event) => ({ type: "event", event }));

describe("a turn, event by event", () => {
  it("retrieves, shows chunks and instance errors at once, then writes and finishes", () => {
    const afterChunks = run(events(chunksEvent));
    expect(afterChunks.status).toBe("writing");
    expect(afterChunks.chunks?.map((c) => c.item?.key)).toEqual(["a.md", "b.md"]);
    expect(afterChunks.instanceErrors).toEqual([
      { instanceId: "broken", message: "instance is paused" },
    ]);
    expect(afterChunks).toMatchObject({ streamId, lastSequence: 0 });
    const writing = run(events(delta(1, "Hel"), delta(2, "lo")), afterChunks);
    expect(writing).toMatchObject({ status: "writing", answer: "Hello", lastSequence: 2 });
    const finished = run(events(done("Hello.")), writing);
    expect(finished).toMatchObject({ status: "done", answer: "Hello.", model: "local/extractive" });
  });

  it("drops an event it already has, and notes a skipped one until the done event", () => {
    const turn = run(events(chunksEvent, delta(1, "a"), delta(1, "a"), delta(3, "c")));
    expect(turn).toMatchObject({ answer: "ac", lastSequence: 3, gap: true });
    expect(run(events(chunksEvent, done("abc")), turn)).toMatchObject({
      answer: "abc",
      gap: false,
    });
  });

  it("resumes: says so, then takes the replay after its last event without writing anything twice", () => {
    const before = run(events(chunksEvent, delta(1, "Hel"), delta(2, "lo")));
    const resuming = run([{ type: "resuming" }], before);
    expect(resuming).toMatchObject({ status: "resuming", resumes: 1, answer: "Hello" });
    // The resume replays from where the page said, and may overlap what it had.
    const resumed = run(
      events(delta(2, "lo"), delta(3, " world"), done("Hello world", 4)),
      resuming,
    );
    expect(resumed).toMatchObject({
      status: "done",
      answer: "Hello world",
      resumes: 1,
      gap: false,
    });
    expect(run(events(delta(3, " world")), resuming)).toMatchObject({
      status: "writing",
      answer: "Hello world",
    });
  });

  it("keeps the streamed text when the done event carries none", () => {
    expect(run(events(chunksEvent, delta(1, "kept"), done(null))).answer).toBe("kept");
  });

  it.each<[string, TurnAction, Partial<Turn>]>([
    ["stopped", { type: "stopped" }, { status: "stopped" }],
    [
      "interrupted",
      { type: "interrupted", message: "lost" },
      { status: "interrupted", failure: { code: "INTERRUPTED", message: "lost", retryable: true } },
    ],
    [
      "refused",
      { type: "refused", code: "RATE_LIMITED", message: "slow down", retryable: true },
      {
        status: "failed",
        failure: { code: "RATE_LIMITED", message: "slow down", retryable: true },
      },
    ],
    [
      "a failed event",
      {
        type: "event",
        event: {
          __typename: "ChatCompletionFailedEvent",
          streamId,
          sequence: 2,
          code: "UPSTREAM_ERROR",
          message: "broke",
          retryable: false,
        },
      },
      { status: "failed", failure: { code: "UPSTREAM_ERROR", message: "broke", retryable: false } },
    ],
  ])("ends %s, keeping the text so far, and ignores what comes after", (_, action, expected) => {
    const ended = run([...events(chunksEvent, delta(1, "part")), action]);
    expect(ended).toMatchObject({ ...expected, answer: "part" });
    expect(run(events(delta(2, " more"), done("all")), ended)).toBe(ended);
  });
});

describe("messagesFor", () => {
  it("sends the finished exchanges, then the question, leaving out unfinished answers", () => {
    const first = run(events(chunksEvent, delta(1, "A1"), done("A1")), newTurn(1, "Q1", "d", []));
    const stopped = run(
      [...events(delta(1, "half")), { type: "stopped" }],
      newTurn(2, "Q2", "d", []),
    );
    const failed = run([{ type: "interrupted", message: "x" }], newTurn(3, "Q3", "d", []));
    expect(messagesFor([first, stopped, failed], "Q4")).toEqual([
      { role: "USER", content: "Q1" },
      { role: "ASSISTANT", content: "A1" },
      { role: "USER", content: "Q4" },
    ]);
    expect(messagesFor([], "only")).toEqual([{ role: "USER", content: "only" }]);
  });
});

describe("segmentAnswer", () => {
  const chunks = [chunk("guides/a.md"), chunk("b.md"), chunk("b.md", "second-b")];
  const refs = (text: string) =>
    segmentAnswer(text, chunks).map((s) => (s.kind === "text" ? s.text : s.chunkIndexes));

  it.each<[string, (string | number[])[]]>([
    ["See [guides/a.md] and [b.md].", ["See ", [0], " and ", [1], "."]],
    ["Numbered [2], several [1, 3].", ["Numbered ", [1], ", several ", [0, 2], "."]],
    [
      "Unknown [c.md], out of range [4], [a.md; x].",
      ["Unknown [c.md], out of range [4], [a.md; x]."],
    ],
    ["An unclosed [b.md", ["An unclosed [b.md"]],
    ["[b.md]", [[1]]],
  ])("%s", (text, expected) => {
    expect(refs(text)).toEqual(expected);
  });

  it("links nothing before the chunks arrive", () => {
    expect(segmentAnswer("See [1].", undefined)).toEqual([{ kind: "text", text: "See [1]." }]);
  });
});
