import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AskStreamDocument,
  type AskStreamSubscription,
  type ChatCompletionInput,
} from "../../operations/generated/graphql.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { sseSubscribe } from "../helpers/streams.ts";

type Event = AskStreamSubscription["chatCompletionStream"];

const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs", "ai-search-concepts"],
  messages: [{ role: "USER", content: "How does streaming of answers work?" }],
  retrieval: { maxNumResults: 3 },
};

async function collect(harness: GatewayHarness): Promise<Event[]> {
  const events: Event[] = [];
  for await (const result of sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, {
    input,
  })) {
    expect(result.errors).toBeUndefined();
    events.push(result.data!.chatCompletionStream);
  }
  return events;
}

describe("a runaway upstream stream is cut off", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway(
      { streamDelayMs: 0 },
      { STREAM_MAX_CHARS: "2000", STREAM_MAX_DURATION_MS: "500" },
    );
  });
  afterAll(() => harness.close());

  it("ends an endless answer at the size limit and aborts the upstream request", async () => {
    harness.local.setFaults({ endlessStream: true, match: "/chat/completions" });
    try {
      const aborted = harness.local.waitForAbort("/chat/completions", 10_000);
      const events = await collect(harness);
      expect(events[0]?.__typename).toBe("ChatCompletionChunksEvent");
      const relayed = events
        .filter((e) => e.__typename === "ChatCompletionDeltaEvent")
        .reduce(
          (n, e) => n + (e.__typename === "ChatCompletionDeltaEvent" ? e.content.length : 0),
          0,
        );
      expect(relayed).toBeLessThanOrEqual(2000);
      expect(events.at(-1)).toMatchObject({
        __typename: "ChatCompletionFailedEvent",
        code: "STREAM_LIMIT_EXCEEDED",
        retryable: false,
      });
      expect((await aborted).aborted).toBe(true);
    } finally {
      harness.local.setFaults(undefined);
    }
  });

  it("ends a stalled answer at the time limit", async () => {
    harness.local.setFaults({ stallMidStreamAfterDeltas: 2, match: "/chat/completions" });
    try {
      const events = await collect(harness);
      expect(events.filter((e) => e.__typename === "ChatCompletionDeltaEvent")).toHaveLength(2);
      expect(events.at(-1)).toMatchObject({
        __typename: "ChatCompletionFailedEvent",
        code: "STREAM_LIMIT_EXCEEDED",
      });
    } finally {
      harness.local.setFaults(undefined);
    }
  });
});
