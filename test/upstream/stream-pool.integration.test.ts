/**
 * Streams have a connection pool of their own, without a cap: a stream holds its socket for its
 * whole life, so behind a capped pool the next stream would wait silently for another to end.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { AiSearchClient } from "../../src/upstream/client.ts";
import type { AiSearchClientOptions } from "../../src/upstream/options.ts";
import type { ChatStream } from "../../src/upstream/stream.ts";
import type { ChatCompletionRequest } from "../../src/upstream/types.ts";

const TOKEN = "stream-pool-token-0123";
let local: LocalAiSearch;
const clients: AiSearchClient[] = [];
// Endless streams of slow deltas: each holds its socket until it is closed.
beforeAll(async () => {
  local = await startLocalAiSearch({ streamDelayMs: 50, apiToken: TOKEN });
  local.setFaults({ endlessStream: true });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});
afterAll(() => local?.close());

function client(options: Partial<AiSearchClientOptions>): AiSearchClient {
  const c = new AiSearchClient({
    baseUrl: local.baseUrl,
    accountId: "test-account",
    credentials: { kind: "token", token: TOKEN },
    retry: { maxRetries: 0 },
    ...options,
  });
  clients.push(c);
  return c;
}

const question: ChatCompletionRequest = {
  messages: [{ role: "user", content: "How does the gateway stream answers?" }],
  ai_search_options: { instance_ids: ["gateway-docs"] },
};

describe("the stream pool", () => {
  it("opens more streams at once than the JSON pool has connections, none waiting", async () => {
    const c = client({ connections: 2 });
    const streams: ChatStream[] = [];
    try {
      // Six endless streams held open with a pool of two: with one pool for both, the third
      // would wait for a socket forever, and this test would time out.
      for (let i = 0; i < 6; i++) {
        const stream = await c.streamChatCompletions("default", question);
        const first = await stream[Symbol.asyncIterator]().next();
        expect(first.value).toMatchObject({ type: "chunks" });
        streams.push(stream);
      }
      // JSON calls still have their own two sockets while every stream stays open.
      const page = await c.listNamespaces({ perPage: 1 });
      expect(page.items.length).toBe(1);
    } finally {
      for (const stream of streams) stream.close();
    }
  });
});
