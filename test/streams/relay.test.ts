/**
 * The relay on its own, over a real upstream stream from the local AI Search: how each stop
 * reason ends a stream, and that the first reason wins.
 */
import { describe, expect, it, vi } from "vitest";
import {
  type RelayedEvent,
  relayChatStream,
  relaysHeldBy,
  type StreamLimits,
} from "../../src/streams/relay.ts";
import { UpstreamAbortedError } from "../../src/upstream/errors.ts";
import { useLocalUpstream } from "../upstream/local-upstream.ts";

const TOKEN = "relay-unit-token";
const CHAT = "/chat/completions";
const body = {
  messages: [{ role: "user" as const, content: "how are streams relayed?" }],
  ai_search_options: { instance_ids: ["gateway-docs"] },
};
const STREAM_ID = "5f0c4a4e-8f3b-4f51-9a43-3f1f0e1f6a01";
const ROOMY: StreamLimits = { maxChars: 1e12, maxDurationMs: 60_000 };

const upstream = useLocalUpstream(TOKEN);

function relay(options: {
  limits?: StreamLimits;
  subscriber?: AbortSignal;
  drain?: AbortSignal;
  opening?: AbortSignal;
}) {
  return relayChatStream({
    streamId: STREAM_ID,
    namespace: "default",
    limits: options.limits ?? ROOMY,
    subscriber: options.subscriber,
    drain: options.drain,
    opening: options.opening,
    open: (signal) => upstream.client().streamChatCompletions("default", body, { signal }),
  });
}

/** Everything the relay still yields. */
async function rest(events: AsyncIterator<RelayedEvent>): Promise<RelayedEvent[]> {
  const out: RelayedEvent[] = [];
  for (let next = await events.next(); !next.done; next = await events.next()) out.push(next.value);
  return out;
}

async function take(events: AsyncIterator<RelayedEvent>, count: number) {
  for (let i = 0; i < count; i++) expect((await events.next()).done).toBe(false);
}

describe("a stream that runs to its end", () => {
  it("relays chunks, the deltas in order, then the assembled completion", async () => {
    const events = await rest(await relay({}));
    expect(events[0]?.kind).toBe("chunks");
    // Every event is numbered in its stream: the chunks event 0, then +1 each, the last too.
    expect(events.map((e) => [e.streamId, e.sequence])).toEqual(
      events.map((_, i) => [STREAM_ID, i]),
    );
    const deltas = events.filter((e) => e.kind === "delta");
    expect(deltas.length).toBeGreaterThan(1);
    const done = events.at(-1);
    if (done?.kind !== "done") throw new Error(`expected done, got ${done?.kind}`);
    const text = deltas.map((d) => d.content).join("");
    expect(done.completion.response.choices[0]?.message.content).toBe(text);
    expect(done.completion.namespace).toBe("default");
    expect(events.filter((e) => e.kind === "done")).toHaveLength(1);
  });
});

describe("each stop reason ends the stream its own way", () => {
  it("the subscriber leaving before the first event: nothing more, upstream closed", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const events = await relay({});
    const aborted = upstream.local.waitForAbort(CHAT);
    expect(await events.return()).toEqual({ done: true, value: undefined });
    expect((await aborted).aborted).toBe(true);
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it("the subscriber's signal: nothing more, upstream closed", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const subscriber = new AbortController();
    const events = await relay({ subscriber: subscriber.signal });
    await take(events, 2);
    const aborted = upstream.local.waitForAbort(CHAT);
    subscriber.abort();
    expect(await rest(events)).toEqual([]);
    expect((await aborted).aborted).toBe(true);
  });

  it("a drain: a retryable SHUTTING_DOWN event, upstream closed", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const drain = new AbortController();
    const events = await relay({ drain: drain.signal });
    await take(events, 2);
    const aborted = upstream.local.waitForAbort(CHAT);
    drain.abort();
    expect(await rest(events)).toEqual([
      expect.objectContaining({ kind: "failed", code: "SHUTTING_DOWN", retryable: true }),
    ]);
    expect((await aborted).aborted).toBe(true);
  });

  it("the size limit: STREAM_LIMIT_EXCEEDED, the delta over it never relayed", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const events = await rest(await relay({ limits: { maxChars: 40, maxDurationMs: 60_000 } }));
    const relayed = events.filter((e) => e.kind === "delta").map((d) => d.content);
    expect(relayed.join("").length).toBeLessThanOrEqual(40);
    expect(events.at(-1)).toMatchObject({ kind: "failed", code: "STREAM_LIMIT_EXCEEDED" });
    await upstream.local.waitForAbort(CHAT);
  });

  it("the time limit: STREAM_LIMIT_EXCEEDED", async () => {
    upstream.local.setFaults({ stallMidStreamAfterDeltas: 1, match: CHAT });
    const events = await rest(await relay({ limits: { maxChars: 1e12, maxDurationMs: 50 } }));
    expect(events.at(-1)).toMatchObject({
      kind: "failed",
      code: "STREAM_LIMIT_EXCEEDED",
      retryable: false,
    });
    await upstream.local.waitForAbort(CHAT);
  });

  it("an upstream failure: a failed event with its client code", async () => {
    upstream.local.setFaults({ malformedSse: true, match: CHAT });
    const events = await rest(await relay({}));
    expect(events.at(-1)).toEqual({
      streamId: STREAM_ID,
      sequence: events.length - 1,
      kind: "failed",
      code: "UPSTREAM_BAD_RESPONSE",
      message: "AI Search sent a response the gateway cannot use.",
      retryable: false,
    });
  });
});

describe("a cancellation", () => {
  it("ends the stream at once with CANCELLED as its next event, upstream closed", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const events = await relay({});
    await take(events, 3);
    const aborted = upstream.local.waitForAbort(CHAT);
    const pending = events.next();
    const cancelled = events.cancel();
    expect(cancelled).toMatchObject({ kind: "failed", code: "CANCELLED", sequence: 3 });
    // A read in flight brings nothing more, and a second cancel finds the stream ended.
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(events.cancel()).toBeUndefined();
    expect((await aborted).aborted).toBe(true);
  });
});

describe("one reason", () => {
  it("the first to fire decides: a drain, then the subscriber leaving, ends as a drain", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const drain = new AbortController();
    const subscriber = new AbortController();
    const events = await relay({ drain: drain.signal, subscriber: subscriber.signal });
    await take(events, 2);
    drain.abort();
    subscriber.abort();
    expect(await rest(events)).toEqual([expect.objectContaining({ code: "SHUTTING_DOWN" })]);
  });

  it("the subscriber leaving, then a drain, ends with nothing", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const drain = new AbortController();
    const subscriber = new AbortController();
    const events = await relay({ drain: drain.signal, subscriber: subscriber.signal });
    await take(events, 2);
    subscriber.abort();
    drain.abort();
    expect(await rest(events)).toEqual([]);
  });

  it("a drain while the headers are coming refuses the subscription with SHUTTING_DOWN", async () => {
    upstream.local.setFaults({ stallBeforeHeadersMs: Number.POSITIVE_INFINITY, match: CHAT });
    const drain = new AbortController();
    const opening = relay({ drain: drain.signal });
    await vi.waitFor(() =>
      expect(upstream.local.requests.some((r) => r.path.endsWith(CHAT))).toBe(true),
    );
    drain.abort();
    await expect(opening).rejects.toMatchObject({
      extensions: { code: "SHUTTING_DOWN", retryable: true },
    });
    await upstream.local.waitForAbort(CHAT);
  });
});

describe("the opening signal", () => {
  it("aborted while the headers are coming: the upstream call is abandoned", async () => {
    upstream.local.setFaults({ stallBeforeHeadersMs: Number.POSITIVE_INFINITY, match: CHAT });
    const opening = new AbortController();
    const opened = relay({ opening: opening.signal });
    await vi.waitFor(() =>
      expect(upstream.local.requests.some((r) => r.path.endsWith(CHAT))).toBe(true),
    );
    const aborted = upstream.local.waitForAbort(CHAT);
    opening.abort();
    // The caller's abort, not a drain's refusal or a failure of the upstream's.
    await expect(opened).rejects.toBeInstanceOf(UpstreamAbortedError);
    expect((await aborted).aborted).toBe(true);
  });

  it("aborted before the relay began: the upstream is never called", async () => {
    const before = upstream.local.requests.length;
    await expect(relay({ opening: AbortSignal.abort() })).rejects.toBeInstanceOf(
      UpstreamAbortedError,
    );
    expect(upstream.local.requests.length).toBe(before);
  });

  it("the same signal as opening and subscriber: still heeded as the subscriber's", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const both = new AbortController();
    const events = await relay({ opening: both.signal, subscriber: both.signal });
    await take(events, 2);
    const aborted = upstream.local.waitForAbort(CHAT);
    both.abort();
    // The subscriber left: no last event for it, and the upstream is closed.
    expect(await rest(events)).toEqual([]);
    expect((await aborted).aborted).toBe(true);
  });

  it("aborted once the upstream answered: ignored, the stream runs to its end", async () => {
    const opening = new AbortController();
    const events = await relay({ opening: opening.signal });
    opening.abort();
    const all = await rest(events);
    expect(all[0]?.kind).toBe("chunks");
    expect(all.at(-1)?.kind).toBe("done");
  });
});

describe("one drain signal for many relays", () => {
  it("stops every relay still running, and none that has ended", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const drain = new AbortController();
    const ended = await relay({ drain: drain.signal });
    await take(ended, 1);
    await ended.return();
    expect(relaysHeldBy(drain.signal)).toBe(0);
    const live = [await relay({ drain: drain.signal }), await relay({ drain: drain.signal })];
    for (const events of live) await take(events, 2);
    expect(relaysHeldBy(drain.signal)).toBe(2);
    drain.abort();
    expect(relaysHeldBy(drain.signal)).toBe(0);
    for (const events of live) {
      expect(await rest(events)).toEqual([expect.objectContaining({ code: "SHUTTING_DOWN" })]);
    }
    expect(await rest(ended)).toEqual([]);
  });

  it("a relay stopped by its deadline lets go of the drain before anyone reads again", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const drain = new AbortController();
    const limits = { maxChars: 1e12, maxDurationMs: 1_000 };
    const events = await relay({ drain: drain.signal, limits });
    expect(relaysHeldBy(drain.signal)).toBe(1);
    await vi.waitFor(() => expect(relaysHeldBy(drain.signal)).toBe(0), { timeout: 10_000 });
    expect(await rest(events)).toEqual([
      expect.objectContaining({ kind: "failed", code: "STREAM_LIMIT_EXCEEDED" }),
    ]);
  });

  it("a relay opened after the drain began is refused with SHUTTING_DOWN", async () => {
    const drain = new AbortController();
    drain.abort();
    await expect(relay({ drain: drain.signal })).rejects.toMatchObject({
      extensions: { code: "SHUTTING_DOWN", retryable: true },
    });
  });
});
