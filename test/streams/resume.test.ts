/**
 * Resumable streams on one gateway (no Redis): a dropped graphql-ws socket or SSE response
 * resumed on a new connection, resumes after the end and after the TTL, other clients'
 * streams, several followers, the grace period and the slot it holds, explicit stops and
 * cancellation. Real sockets against the real local AI Search, whose request log tells how
 * many completions ran.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AskStreamDocument,
  CancelAskStreamDocument,
  type ChatCompletionInput,
  ResumeAskStreamDocument,
} from "../../operations/generated/graphql.ts";
import { type GatewayHarness, startGateway, TEST_TOKEN } from "../helpers/gateway.ts";
import { closeAfterEach, openAcknowledged } from "../helpers/raw-ws.ts";
import { sseSubscribe } from "../helpers/streams.ts";
import { ask, type Event, eventOf, expectWhole, follow, resume } from "./helpers.ts";

const KEY_A = "resume-key-a-0123456789";
const KEY_B = "resume-key-b-0123456789";
const CHAT = "/chat/completions";
const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs"],
  messages: [{ role: "USER", content: "How does streaming of answers work?" }],
};

let harness: GatewayHarness;
const track = closeAfterEach();

beforeAll(async () => {
  harness = await startGateway(
    { streamDelayMs: 10 },
    {
      AUTH_API_KEYS: `${KEY_A},${KEY_B}`,
      STREAM_RESUME_GRACE_MS: "1000",
      STREAM_RESUME_TTL_MS: "1000",
    },
  );
});
afterAll(() => harness.close());
afterEach(() => {
  harness.local.setFaults(undefined);
  harness.local.resetRequests();
});

const connect = async (key = KEY_A) =>
  track(await openAcknowledged(harness.gateway.graphqlUrl, { apiKey: key }));
const completions = () => harness.local.requests.filter((r) => r.path.endsWith(CHAT));

/** Lines of `/metrics` for the resumable streams gauge, as `state → count`. */
async function streamStates(): Promise<Record<string, number>> {
  const text = await (await fetch(`${harness.gateway.url}/metrics`)).text();
  const states: Record<string, number> = {};
  for (const match of text.matchAll(/^gateway_resumable_streams\{state="(\w+)"\} (\d+)$/gm)) {
    states[match[1]!] = Number(match[2]);
  }
  return states;
}

describe("a dropped graphql-ws socket", () => {
  it("resumes on a new connection after the last sequence seen: every event once, one completion", async () => {
    const first = await connect();
    const before = await follow(first, "s", ask(input)).events((e) => e.sequence === 3);
    expect(before.map((e) => e.sequence)).toEqual([0, 1, 2, 3]);
    // No close frame, no `complete`: the connection just breaks.
    first.socket.terminate();

    const second = await connect();
    const after = await follow(second, "r", resume(before[0]!.streamId, 3)).events();
    expectWhole([...before, ...after]);
    expect(completions()).toHaveLength(1);
    expect(completions()[0]!.aborted).toBe(false);
  });

  it("replays the rest and the done event after the stream finished, within the TTL", async () => {
    const raw = await connect();
    const events = await follow(raw, "s", ask(input)).events();
    expectWhole(events);
    const replay = await follow(raw, "r", resume(events[0]!.streamId, 1)).events();
    expect(replay).toEqual(events.slice(2));
    // From the start, too.
    expect(await follow(raw, "r2", resume(events[0]!.streamId, -1)).events()).toEqual(events);
    expect(completions()).toHaveLength(1);
  });

  it("answers STREAM_NOT_FOUND, with no event, once the TTL has passed", async () => {
    const raw = await connect();
    const events = await follow(raw, "s", ask(input)).events();
    const streamId = events[0]!.streamId;
    let attempt = 0;
    await vi.waitFor(
      async () => {
        const message = await follow(raw, `late-${attempt++}`, resume(streamId, 0)).message();
        expect(message.type).toBe("next");
        const { data, errors } = message.payload as {
          data?: unknown;
          errors?: { extensions?: { code?: string } }[];
        };
        expect(data ?? null).toBeNull();
        expect(errors?.[0]?.extensions?.code).toBe("STREAM_NOT_FOUND");
      },
      { timeout: 5_000, interval: 100 },
    );
  });

  it("never lets another client resume or cancel a stream, nor tells it the stream exists", async () => {
    const mine = await connect(KEY_A);
    const events = await follow(mine, "s", ask(input)).events((e) => e.sequence === 1);
    const streamId = events[0]!.streamId;
    const theirs = await connect(KEY_B);
    const refused = await follow(theirs, "r", resume(streamId, 0)).message();
    const unknown = await follow(theirs, "u", resume(crypto.randomUUID(), 0)).message();
    // The same answer as for an id that never existed.
    expect(refused.payload).toEqual(unknown.payload);
    expect(refused.payload).toMatchObject({
      errors: [{ extensions: { code: "STREAM_NOT_FOUND" } }],
    });
    const cancel = await harness.graphql(
      CancelAskStreamDocument,
      { streamId },
      { "x-api-key": KEY_B },
    );
    expect(cancel.body).toEqual({ data: { cancelChatCompletionStream: false } });
    // Not a uuid at all: not found either, never looked up.
    const junk = await follow(theirs, "j", resume("../../etc/passwd", 0)).message();
    expect(junk.payload).toEqual(unknown.payload);
    // The owner's stream was untouched.
    const rest = await follow(mine, "r", resume(streamId, 1)).events();
    expectWhole([...events, ...rest]);
  });
});

describe("several followers", () => {
  it("follow one stream at once, each from its own point, on one upstream completion", async () => {
    const raw = await connect();
    const original = follow(raw, "s", ask(input));
    const head = await original.events((e) => e.sequence === 2);
    const streamId = head[0]!.streamId;
    const other = await connect();
    const [rest, fromStart, fromTwo] = await Promise.all([
      original.events(),
      follow(other, "a", resume(streamId, -1)).events(),
      follow(other, "b", resume(streamId, 2)).events(),
    ]);
    const whole = [...head, ...rest];
    expectWhole(whole);
    expect(fromStart).toEqual(whole);
    expect(fromTwo).toEqual(whole.slice(3));
    expect(completions()).toHaveLength(1);
  });
});

describe("how a subscriber leaves", () => {
  it("dropped and not resumed: the upstream runs through the grace period, then is aborted", async () => {
    harness.local.setFaults({ endlessStream: true, match: CHAT });
    const raw = await connect();
    await follow(raw, "s", ask(input)).events((e) => e.sequence === 2);
    const aborted = harness.local.waitForAbort(CHAT, 10_000);
    raw.socket.terminate();
    // The gateway has seen the socket go, and keeps the stream (and its upstream) for a resume.
    await vi.waitFor(async () => expect((await streamStates()).grace).toBe(1), { interval: 20 });
    expect(completions()[0]!.aborted).toBe(false);
    expect((await aborted).aborted).toBe(true);
    expect(await streamStates()).toMatchObject({ live: 0, grace: 0 });
  });

  it("`complete` aborts the upstream at once, and leaves nothing to resume", async () => {
    harness.local.setFaults({ endlessStream: true, match: CHAT });
    const raw = await connect();
    const events = await follow(raw, "s", ask(input)).events((e) => e.sequence === 2);
    const aborted = harness.local.waitForAbort(CHAT, 10_000);
    raw.send({ id: "s", type: "complete" });
    expect((await aborted).aborted).toBe(true);
    expect(await streamStates()).toMatchObject({ live: 0, grace: 0 });
    const message = await follow(raw, "r", resume(events[0]!.streamId, 2)).message();
    expect(message.payload).toMatchObject({
      errors: [{ extensions: { code: "STREAM_NOT_FOUND" } }],
    });
  });

  it("an SSE response that ends is an abrupt end: the stream resumes over SSE", async () => {
    const before: Event[] = [];
    for await (const result of sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, {
      input,
    })) {
      before.push(eventOf(result)!);
      if (before.length === 3) break;
    }
    const after: Event[] = [];
    for await (const result of sseSubscribe(harness.gateway.graphqlUrl, ResumeAskStreamDocument, {
      streamId: before[0]!.streamId,
      afterSequence: 2,
    })) {
      after.push(eventOf(result)!);
    }
    expectWhole([...before, ...after]);
    expect(completions()).toHaveLength(1);
  });
});

describe("a client's subscription slot", () => {
  it("stays with a dropped stream through its grace period, and passes to the resume", async () => {
    const capped = await startGateway(
      { streamDelayMs: 10 },
      { AUTH_API_KEYS: KEY_A, MAX_SUBSCRIPTIONS_PER_CLIENT: "1", STREAM_RESUME_GRACE_MS: "30000" },
    );
    try {
      // The stream stalls after three deltas: it stays live until the test ends it.
      capped.local.setFaults({ stallMidStreamAfterDeltas: 3, match: CHAT });
      const open = async () =>
        track(await openAcknowledged(capped.gateway.graphqlUrl, { apiKey: KEY_A }));
      const refusal = (payload: unknown) => (payload as { extensions: { code: string } }[])[0];
      const first = await open();
      const head = await follow(first, "s", ask(input)).events((e) => e.sequence === 3);
      first.socket.terminate();
      await vi.waitFor(
        async () => {
          const text = await (await fetch(`${capped.gateway.url}/metrics`)).text();
          expect(text).toMatch(/^gateway_resumable_streams\{state="grace"\} 1$/m);
        },
        { interval: 20 },
      );
      // Nobody follows the stream, yet it holds the client's one slot.
      const second = await open();
      const refused = await follow(second, "n1", ask(input)).message();
      expect(refused.type).toBe("error");
      expect(refusal(refused.payload)?.extensions.code).toBe("TOO_MANY_SUBSCRIPTIONS");
      // The resume takes that slot over rather than needing a second one…
      const resumed = follow(second, "r", resume(head[0]!.streamId, 1));
      expect(await resumed.events((e) => e.sequence === 3)).toEqual(head.slice(2));
      // …and holds it: a new stream is still refused, until the resume stops.
      const again = await follow(second, "n2", ask(input)).message();
      expect(refusal(again.payload)?.extensions.code).toBe("TOO_MANY_SUBSCRIPTIONS");
      second.send({ id: "r", type: "complete" });
      let attempt = 0;
      await vi.waitFor(
        async () =>
          expect((await follow(second, `n-${attempt++}`, ask(input)).message()).type).toBe("next"),
        { timeout: 5_000, interval: 50 },
      );
      expect(capped.local.requests.filter((r) => r.path.endsWith(CHAT))).toHaveLength(2);
    } finally {
      await capped.close();
    }
  });
});

describe("cancelChatCompletionStream", () => {
  it("aborts the upstream and ends the stream with CANCELLED for every follower", async () => {
    harness.local.setFaults({ endlessStream: true, match: CHAT });
    const raw = await connect();
    const original = follow(raw, "s", ask(input));
    const head = await original.events((e) => e.sequence === 2);
    const streamId = head[0]!.streamId;
    const other = await connect();
    const second = follow(other, "r", resume(streamId, 2));
    // The resume is attached once it has its first live event.
    const [first] = await second.events((e) => e.sequence === 3);
    const aborted = harness.local.waitForAbort(CHAT, 10_000);
    const cancel = await harness.graphql(
      CancelAskStreamDocument,
      { streamId },
      { "x-api-key": KEY_A },
    );
    expect(cancel.body).toEqual({ data: { cancelChatCompletionStream: true } });
    expect((await aborted).aborted).toBe(true);
    const [rest, resumed] = await Promise.all([original.events(), second.events()]);
    for (const tail of [rest, resumed]) {
      expect(tail.at(-1)).toMatchObject({
        __typename: "ChatCompletionFailedEvent",
        code: "CANCELLED",
      });
    }
    expect(resumed.at(-1)).toEqual(rest.at(-1));
    expect(first?.sequence).toBe(3);
    // Finished now: a second cancel finds nothing live.
    const again = await harness.graphql(
      CancelAskStreamDocument,
      { streamId },
      { "x-api-key": KEY_A },
    );
    expect(again.body).toEqual({ data: { cancelChatCompletionStream: false } });
    const unknown = await harness.graphql(
      CancelAskStreamDocument,
      { streamId: crypto.randomUUID() },
      { "x-api-key": KEY_A },
    );
    expect(unknown.body).toEqual({ data: { cancelChatCompletionStream: false } });
  });
});

describe("in pass-through mode", () => {
  it("a stream belongs to the identity and the Cloudflare token it was started with", async () => {
    const passThrough = await startGateway(
      { streamDelayMs: 10 },
      { PASS_THROUGH_CREDENTIALS: "true", AUTH_API_KEYS: KEY_A },
    );
    try {
      const open = (token: string) =>
        openAcknowledged(passThrough.gateway.graphqlUrl, {
          apiKey: KEY_A,
          cloudflareApiToken: token,
        });
      const mine = track(await open(TEST_TOKEN));
      const events = await follow(mine, "s", ask(input)).events();
      const streamId = events[0]!.streamId;
      // Same client identity, another token: not its stream.
      const other = track(await open("another-cloudflare-token"));
      expect((await follow(other, "r", resume(streamId, 0)).message()).payload).toMatchObject({
        errors: [{ extensions: { code: "STREAM_NOT_FOUND" } }],
      });
      const again = track(await open(TEST_TOKEN));
      expect(await follow(again, "r", resume(streamId, 0)).events()).toEqual(events.slice(1));
    } finally {
      await passThrough.close();
    }
  });
});
