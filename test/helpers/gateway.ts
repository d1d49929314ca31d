import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { loadConfig } from "../../src/config.ts";
import {
  type LocalAiSearch,
  type LocalAiSearchOptions,
  type RecordedRequest,
  startLocalAiSearch,
} from "../../src/local/server.ts";
import { type App, type AppOptions, buildApp, type RunningGateway } from "../../src/server/app.ts";

export const TEST_TOKEN = "test-token-0123456789";

/** What reached the local AI Search's API, leaving out whatever else it serves. */
export function aiSearchRequests(local: LocalAiSearch): RecordedRequest[] {
  return local.requests.filter((r) => r.path.includes("/ai-search/"));
}

/**
 * POSTs one GraphQL operation and returns the parsed body and the HTTP status. Given a typed
 * document (`operations/generated/graphql.ts`), the variables and the result are typed by it.
 */
export interface GraphqlPoster {
  <TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<TResult>>;
  /** The same for a query string, for operations that have no typed document. */
  <T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
}

/** {@link GraphqlPoster} over `send`: the global `fetch`, or a Yoga's own in-process one. */
export function graphqlPoster(
  send: (url: string, init: RequestInit) => Promise<Response>,
  url: string,
): GraphqlPoster {
  return (async (
    document: string | TypedDocumentNode,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) => {
    const query = typeof document === "string" ? document : print(document);
    const response = await send(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: await response.json(), headers: response.headers };
  }) as GraphqlPoster;
}

/** The environment every test gateway starts from, pointed at `local` like production's. */
export function testEnvironment(local: LocalAiSearch, env: Record<string, string>) {
  return {
    NODE_ENV: "test",
    PORT: "0",
    CLOUDFLARE_API_BASE_URL: local.baseUrl,
    CLOUDFLARE_ACCOUNT_ID: "test-account",
    CLOUDFLARE_API_TOKEN: TEST_TOKEN,
    // Quiet unless a test asks for lines (LOG_LEVEL) or brings its own logger.
    LOG_LEVEL: "silent",
    ...env,
  };
}

export interface GatewayHarness {
  local: LocalAiSearch;
  gateway: RunningGateway;
  /** The app itself, e.g. to stop it without closing the local AI Search. */
  app: App;
  graphql: GraphqlPoster;
  close(): Promise<void>;
}

export interface GraphQLResponse<T> {
  status: number;
  body: GraphQLBody<T>;
  headers: Headers;
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
  appOptions: AppOptions = {},
): Promise<GatewayHarness> {
  const local = await startLocalAiSearch({
    streamDelayMs: 0,
    apiToken: TEST_TOKEN,
    ...localOptions,
  });
  const app = buildApp(loadConfig(testEnvironment(local, env)), appOptions);
  const gateway = await app.start();
  return {
    local,
    gateway,
    app,
    graphql: graphqlPoster(fetch, gateway.graphqlUrl),
    async close() {
      await app.stop();
      await local.close();
    },
  };
}
