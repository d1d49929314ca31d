import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AskDocument,
  AskStreamDocument,
  type AskStreamSubscription,
  type ChatCompletionInput,
} from "../../operations/generated/graphql.ts";
import { aiSearchRequests, type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { type StreamResult, sseSubscribe, wsClient, wsSubscribe } from "../helpers/streams.ts";

const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs", "ai-search-concepts"],
  messages: [{ role: "USER", content: "How does streaming of answers work?" }],
};

type Event = AskStreamSubscription["chatCompletionStream"];
type EventOf<K extends Event["__typename"]> = Extract<Event, { __typename: K }>;

/** Asserts the kind of an event and narrows it to that kind. */
function expectEvent<K extends Event["__typename"]>(event: Event | undefined, typename: K) {
  expect(event?.__typename).toBe(typename);
  return event as EventOf<K>;
}

/** Checks chunks → deltas (contiguous) → done, and that the deltas add up to the final text. */
function expectWellFormed(events: Event[]) {
  const streamedChunks = expectEvent(events[0], "ChatCompletionChunksEvent").chunks;
  expect(streamedChunks.length).toBeGreaterThan(0);
  const deltas = events.slice(1, -1).map((delta, i) => {
    const event = expectEvent(delta, "ChatCompletionDeltaEvent");
    // The chunks event is 0; each delta, and then the done event, one more.
    expect(event.sequence).toBe(i + 1);
    return event;
  });
  expect(events.at(-1)?.sequence).toBe(events.length - 1);
  expect(new Set(events.map((e) => e.streamId)).size).toBe(1);
  expect(deltas.length).toBeGreaterThan(1);
  const { completion } = expectEvent(events.at(-1), "ChatCompletionDoneEvent");
  expect(deltas.map((d) => d.content).join("")).toBe(completion.content);
  expect(completion.content?.length).toBeGreaterThan(0);
  expect(completion.chunks.map((c) => c.instanceId)).toEqual(
    streamedChunks.map((c) => c.instanceId),
  );
}

const eventsOf = (results: StreamResult<AskStreamSubscription>[]) =>
  results.map((r) => {
    expect(r.errors).toBeUndefined();
    return r.data!.chatCompletionStream;
  });

describe("Subscription.chatCompletionStream", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    // A small pause between upstream deltas leaves time to unsubscribe mid-stream; a short
    // grace period lets a dropped stream's upstream be seen aborted.
    harness = await startGateway({ streamDelayMs: 5 }, { STREAM_RESUME_GRACE_MS: "200" });
  });
  afterAll(() => harness.close());

  it("relays chunks, deltas and done over graphql-ws, matching the mutation's answer", async () => {
    const client = wsClient(harness.gateway.graphqlUrl);
    try {
      const results: StreamResult<AskStreamSubscription>[] = [];
      for await (const result of wsSubscribe(client, AskStreamDocument, { input })) {
        results.push(result);
      }
      const events = eventsOf(results);
      expectWellFormed(events);
      const mutation = await harness.graphql(AskDocument, { input });
      const done = expectEvent(events.at(-1), "ChatCompletionDoneEvent").completion;
      expect(done.content).toBe(mutation.body.data!.chatCompletion.content);
    } finally {
      await client.dispose();
    }
  });

  it("relays the same events over SSE", async () => {
    const results: StreamResult<AskStreamSubscription>[] = [];
    for await (const result of sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, {
      input,
    })) {
      results.push(result);
    }
    expectWellFormed(eventsOf(results));
  });

  it("aborts the upstream request when a graphql-ws subscriber completes mid-stream", async () => {
    harness.local.resetRequests();
    const client = wsClient(harness.gateway.graphqlUrl);
    try {
      const aborted = harness.local.waitForAbort("/chat/completions", 10_000);
      let deltas = 0;
      for await (const result of wsSubscribe(client, AskStreamDocument, { input })) {
        const event = result.data!.chatCompletionStream;
        if (event.__typename === "ChatCompletionDeltaEvent" && ++deltas === 2) break;
      }
      const request = await aborted;
      expect(request.aborted).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it("aborts the upstream request when a graphql-ws subscriber completes before the first event", async () => {
    harness.local.setFaults({ latencyMs: 5_000, match: "/chat/completions" });
    harness.local.resetRequests();
    const client = wsClient(harness.gateway.graphqlUrl);
    try {
      const aborted = harness.local.waitForAbort("/chat/completions", 10_000);
      const unsubscribe = client.subscribe(
        { query: print(AskStreamDocument), variables: { input } },
        { next: () => {}, error: () => {}, complete: () => {} },
      );
      // The upstream has the request but has not answered yet: no event can have arrived.
      await vi.waitFor(
        () =>
          expect(harness.local.requests.some((r) => r.path.endsWith("/chat/completions"))).toBe(
            true,
          ),
        { interval: 5 },
      );
      unsubscribe();
      expect((await aborted).aborted).toBe(true);
    } finally {
      harness.local.setFaults(undefined);
      await client.dispose();
    }
  });

  it("keeps the upstream for the grace period when an SSE subscriber disconnects, then aborts it", async () => {
    // SSE has no stop message: any end of the response may be a dropped connection.
    harness.local.setFaults({ endlessStream: true, match: "/chat/completions" });
    harness.local.resetRequests();
    try {
      const aborted = harness.local.waitForAbort("/chat/completions", 10_000);
      let deltas = 0;
      for await (const result of sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, {
        input,
      })) {
        if (
          result.data?.chatCompletionStream.__typename === "ChatCompletionDeltaEvent" &&
          ++deltas === 2
        ) {
          break;
        }
      }
      const request = harness.local.requests.find((r) => r.path.endsWith("/chat/completions"));
      expect(request?.aborted).toBe(false);
      expect((await aborted).aborted).toBe(true);
    } finally {
      harness.local.setFaults(undefined);
    }
  });

  it("ends with a typed failure event when the upstream breaks mid-stream", async () => {
    harness.local.setFaults({ malformedSse: true, match: "/chat/completions", times: 1 });
    try {
      const results: StreamResult<AskStreamSubscription>[] = [];
      for await (const result of sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, {
        input,
      })) {
        results.push(result);
      }
      const events = eventsOf(results);
      expect(events[0]!.__typename).toBe("ChatCompletionChunksEvent");
      expect(events.at(-1)).toMatchObject({
        __typename: "ChatCompletionFailedEvent",
        code: "UPSTREAM_BAD_RESPONSE",
        retryable: false,
      });
    } finally {
      harness.local.setFaults(undefined);
    }
  });

  it("rejects bad input before subscribing, with a code and no upstream call", async () => {
    harness.local.resetRequests();
    const client = wsClient(harness.gateway.graphqlUrl);
    try {
      const bad = { ...input, namespace: "../../etc" };
      const results: StreamResult<AskStreamSubscription>[] = [];
      for await (const result of wsSubscribe(client, AskStreamDocument, { input: bad })) {
        results.push(result);
      }
      expect(results).toHaveLength(1);
      expect(results[0]!.data ?? null).toBeNull();
      expect(results[0]!.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect(aiSearchRequests(harness.local)).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
