import { afterAll, beforeAll, beforeEach, expect, vi } from "vitest";
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

/**
 * One in-process gateway for a whole test file: started before its tests, closed after them,
 * with the local AI Search's request log cleared before each test. The object it returns reads
 * through to the running gateway, so a file can hold it in a `const`.
 */
export function useInProcessGateway(env: Record<string, string> = {}): InProcessGateway {
  let running: InProcessGateway | undefined;
  beforeAll(async () => {
    running = await startInProcessGateway(env);
  });
  afterAll(() => running?.close());
  beforeEach(() => running?.local.resetRequests());
  const started = (): InProcessGateway => {
    if (!running) throw new Error("the in-process gateway is used outside a test");
    return running;
  };
  return {
    get local() {
      return started().local;
    },
    get yoga() {
      return started().yoga;
    },
    graphql: ((...args: Parameters<GraphqlPoster>) =>
      (started().graphql as (...a: unknown[]) => unknown)(...args)) as GraphqlPoster,
    close: () => started().close(),
  };
}
