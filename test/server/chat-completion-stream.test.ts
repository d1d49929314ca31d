import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { type StreamEventResult, sseSubscribe, wsClient } from "../helpers/streams.ts";

const STREAM = /* GraphQL */ `
  subscription Stream($input: ChatCompletionInput!) {
    chatCompletionStream(input: $input) {
      __typename
      ... on ChatCompletionChunksEvent { chunks { instanceId item { key } } errors { instanceId } }
      ... on ChatCompletionDeltaEvent { sequence content finishReason }
      ... on ChatCompletionDoneEvent { completion { content model chunks { instanceId } } }
      ... on ChatCompletionFailedEvent { code message retryable }
    }
  }
`;

const input = {
  instanceIds: ["gateway-docs", "ai-search-concepts"],
  messages: [{ role: "USER", content: "How does streaming of answers work?" }],
};

type Event = Record<string, unknown> & { __typename: string };

/** Checks chunks → deltas (contiguous) → done, and that the deltas add up to the final text. */
function expectWellFormed(events: Event[]) {
  expect(events[0]!.__typename).toBe("ChatCompletionChunksEvent");
  expect((events[0]!.chunks as unknown[]).length).toBeGreaterThan(0);
  const deltas = events.slice(1, -1);
  expect(deltas.length).toBeGreaterThan(1);
  deltas.forEach((delta, i) => {
    expect(delta.__typename).toBe("ChatCompletionDeltaEvent");
    expect(delta.sequence).toBe(i);
  });
  const done = events.at(-1)!;
  expect(done.__typename).toBe("ChatCompletionDoneEvent");
  const completion = done.completion as { content: string; chunks: { instanceId: string }[] };
  expect(deltas.map((d) => d.content).join("")).toBe(completion.content);
  expect(completion.content.length).toBeGreaterThan(0);
  const streamedChunks = events[0]!.chunks as { instanceId: string }[];
  expect(completion.chunks.map((c) => c.instanceId)).toEqual(streamedChunks.map((c) => c.instanceId));
}

const eventsOf = (results: StreamEventResult[]) =>
  results.map((r) => {
    expect(r.errors).toBeUndefined();
    return r.data!.chatCompletionStream as Event;
  });

describe("Subscription.chatCompletionStream", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    // A small pause between upstream deltas leaves time to unsubscribe mid-stream.
    harness = await startGateway({ streamDelayMs: 5 });
  });
  afterAll(() => harness.close());

  it("relays chunks, deltas and done over graphql-ws, matching the mutation's answer", async () => {
    const client = wsClient(harness.gateway.graphqlUrl);
    try {
      const results: StreamEventResult[] = [];
      for await (const result of client.iterate({ query: STREAM, variables: { input } })) {
        results.push(result as StreamEventResult);
      }
      const events = eventsOf(results);
      expectWellFormed(events);
      const mutation = await harness.graphql<{ chatCompletion: { content: string } }>(
        `mutation($input: ChatCompletionInput!) { chatCompletion(input: $input) { content } }`,
        { input },
      );
      const done = events.at(-1)!.completion as { content: string };
      expect(done.content).toBe(mutation.body.data!.chatCompletion.content);
    } finally {
      await client.dispose();
    }
  });

  it("relays the same events over SSE", async () => {
    const results: StreamEventResult[] = [];
    for await (const result of sseSubscribe(harness.gateway.graphqlUrl, STREAM, { input })) {
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
      for await (const result of client.iterate({ query: STREAM, variables: { input } })) {
        const event = (result as StreamEventResult).data!.chatCompletionStream;
        if (event.__typename === "ChatCompletionDeltaEvent" && ++deltas === 2) break;
      }
      const request = await aborted;
      expect(request.aborted).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it("aborts the upstream request when an SSE subscriber disconnects mid-stream", async () => {
    harness.local.resetRequests();
    const aborted = harness.local.waitForAbort("/chat/completions", 10_000);
    let deltas = 0;
    for await (const result of sseSubscribe(harness.gateway.graphqlUrl, STREAM, { input })) {
      if (result.data?.chatCompletionStream.__typename === "ChatCompletionDeltaEvent" && ++deltas === 2) {
        break;
      }
    }
    expect((await aborted).aborted).toBe(true);
  });

  it("ends with a typed failure event when the upstream breaks mid-stream", async () => {
    harness.local.setFaults({ malformedSse: true, match: "/chat/completions", times: 1 });
    try {
      const results: StreamEventResult[] = [];
      for await (const result of sseSubscribe(harness.gateway.graphqlUrl, STREAM, { input })) {
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
      const results: StreamEventResult[] = [];
      for await (const result of client.iterate({ query: STREAM, variables: { input: bad } })) {
        results.push(result as StreamEventResult);
      }
      expect(results).toHaveLength(1);
      expect(results[0]!.data ?? null).toBeNull();
      expect(results[0]!.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
      expect(harness.local.requests.filter((r) => r.path.includes("/ai-search/"))).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
