/**
 * The local AI Search for a test file, with the clients its tests make: started once, its
 * faults and request log reset and its clients closed after each test.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { AiSearchClient } from "../../src/upstream/client.ts";
import type { AiSearchClientOptions } from "../../src/upstream/options.ts";

export function useLocalUpstream(token: string) {
  let local: LocalAiSearch | undefined;
  const clients: AiSearchClient[] = [];
  beforeAll(async () => {
    local = await startLocalAiSearch({ streamDelayMs: 0, apiToken: token });
  });
  afterEach(async () => {
    local?.setFaults(undefined);
    await Promise.all(clients.splice(0).map((c) => c.close()));
    local?.resetRequests();
  });
  afterAll(() => local?.close());
  return {
    get local(): LocalAiSearch {
      if (!local) throw new Error("the local AI Search starts in beforeAll");
      return local;
    },
    /** A client of the local AI Search, closed after the test; `options` override the defaults. */
    client(options: Partial<AiSearchClientOptions> = {}): AiSearchClient {
      const c = new AiSearchClient({
        baseUrl: this.local.baseUrl,
        accountId: "test-account",
        credentials: { kind: "token", token },
        retry: { maxRetries: 0 },
        ...options,
      });
      clients.push(c);
      return c;
    },
  };
}
