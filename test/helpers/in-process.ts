import { expect, vi } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { createGatewayYoga } from "../../src/server/yoga.ts";
import { AiSearchClient } from "../../src/upstream/client.ts";
import { type GraphqlPoster, graphqlPoster, TEST_TOKEN, testEnvironment } from "./gateway.ts";

export interface InProcessGateway {
  local: LocalAiSearch;
  /** The gateway's Yoga, with every plugin, answering `yoga.fetch` without a server. */
  yoga: ReturnType<typeof createGatewayYoga>["yoga"];
  graphql: GraphqlPoster;
  close(): Promise<void>;
}

/**
 * The gateway's plugin pipeline in process, for tests of what the plugins decide: no HTTP
 * server or WebSocket transport, requests go through `yoga.fetch`. The upstream is a real local
 * AI Search, and the start-up readiness probe has reached it, so request counts start clean.
 */
export async function startInProcessGateway(
  env: Record<string, string> = {},
): Promise<InProcessGateway> {
  const local = await startLocalAiSearch({ streamDelayMs: 0, apiToken: TEST_TOKEN });
  const config = loadConfig(testEnvironment(local, env));
  const upstream = new AiSearchClient({
    baseUrl: local.baseUrl,
    accountId: "test-account",
    credentials: { kind: "token", token: TEST_TOKEN },
  });
  const { yoga } = createGatewayYoga(config, upstream);
  const fetchIn = (url: string, init: RequestInit) => Promise.resolve(yoga.fetch(url, init));
  const close = async () => {
    await upstream.close();
    await local.close();
  };
  try {
    await vi.waitFor(
      async () => expect((await fetchIn("http://gateway.test/readyz", {})).status).toBe(200),
      { timeout: 5_000, interval: 20 },
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { local, yoga, graphql: graphqlPoster(fetchIn, "http://gateway.test/graphql"), close };
}
