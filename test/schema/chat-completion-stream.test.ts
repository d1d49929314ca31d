/**
 * The subscription's relay, executed on the schema itself (no HTTP in between) so the test can
 * play a subscriber that stops reading, against the real local AI Search.
 */
import { parse, subscribe } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContext } from "../../src/context.ts";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { schema } from "../../src/schema/index.ts";
import { StreamHub } from "../../src/streams/hub.ts";
import { AiSearchClient } from "../../src/upstream/client.ts";

let local: LocalAiSearch;
let upstream: AiSearchClient;
/** Stream events the relay pulled from the real upstream stream, told by the client's hooks. */
let pulled = 0;

beforeAll(async () => {
  local = await startLocalAiSearch({ streamDelayMs: 0, apiToken: "relay-test-token" });
  upstream = new AiSearchClient({
    baseUrl: local.baseUrl,
    accountId: "test",
    credentials: { kind: "token", token: "relay-test-token" },
    hooks: { onAttempt: () => ({ onStreamEvent: () => void pulled++ }) },
  });
});
afterAll(async () => {
  await upstream.close();
  await local.close();
});

const STREAM = parse(`subscription {
  chatCompletionStream(input: {
    instanceIds: ["gateway-docs"]
    messages: [{ role: USER, content: "how are streams relayed?" }]
  }) { __typename }
}`);

describe("a slow subscriber", () => {
  it("pauses the upstream read instead of buffering the answer", async () => {
    local.setFaults({ endlessStream: true, match: "/chat/completions" });
    pulled = 0;
    const streams = new StreamHub({ graceMs: 100, ttlMs: 1_000 });
    const context = createContext({
      upstream: upstream.withCall({}),
      upstreamUnder: (signal) => upstream.withCall({ signal }),
      client: { id: "test", kind: "anonymous", scopes: new Set(["chat"]) },
      streamLimits: { maxChars: 1_000_000, maxDurationMs: 60_000 },
      streams,
      streamOwner: "test",
    });
    const result = await subscribe({ schema, document: STREAM, contextValue: context });
    if (!(Symbol.asyncIterator in result)) throw new Error(JSON.stringify(result));
    const iterator = result[Symbol.asyncIterator]();
    try {
      for (let i = 0; i < 3; i++) expect((await iterator.next()).done).toBe(false);
      // The upstream keeps writing; the subscriber reads nothing for a while.
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Three taken, at most one more waiting to be taken: nothing else was read.
      expect(pulled).toBeLessThanOrEqual(4);
    } finally {
      const aborted = local.waitForAbort("/chat/completions", 5_000);
      await iterator.return?.();
      // Leaving without a stop (no `complete`) keeps the stream for its grace period, in which
      // nobody resumed it: then the upstream request ends, though it never finished by itself.
      expect((await aborted).aborted).toBe(true);
      expect(streams.counts()).toEqual({ live: 0, grace: 0, finished: 0 });
      streams.close();
      local.setFaults(undefined);
    }
  });
});
