import { loadConfig } from "../../src/config.ts";
import { type LocalAiSearch, type LocalAiSearchOptions, startLocalAiSearch } from "../../src/local/server.ts";
import { buildApp, type RunningGateway } from "../../src/server/app.ts";

export const TEST_TOKEN = "test-token-0123456789";

export interface GatewayHarness {
  local: LocalAiSearch;
  gateway: RunningGateway;
  /** POSTs one GraphQL operation and returns the parsed body and the HTTP status. */
  graphql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: GraphQLBody<T>; headers: Headers }>;
  close(): Promise<void>;
}

export interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown>; path?: (string | number)[] }[];
}

/**
 * A gateway pointed at a real local AI Search over loopback, configured the way production
 * points it at Cloudflare (base URL, account id, token), so tests exercise the real client path.
 */
export async function startGateway(
  localOptions: LocalAiSearchOptions = {},
  env: Record<string, string> = {},
): Promise<GatewayHarness> {
  const local = await startLocalAiSearch({ streamDelayMs: 0, apiToken: TEST_TOKEN, ...localOptions });
  const app = buildApp(
    loadConfig({
      NODE_ENV: "test",
      PORT: "0",
      CLOUDFLARE_API_BASE_URL: local.baseUrl,
      CLOUDFLARE_ACCOUNT_ID: "test-account",
      CLOUDFLARE_API_TOKEN: TEST_TOKEN,
      ...env,
    }),
  );
  const gateway = await app.start();
  return {
    local,
    gateway,
    async graphql(query, variables, headers) {
      const response = await fetch(gateway.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: await response.json(), headers: response.headers };
    },
    async close() {
      await app.stop();
      await local.close();
    },
  };
}
