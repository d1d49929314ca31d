/**
 * A supergraph of the AI Search gateway and the catalog subgraph, composed with The Guild's
 * composition and served by a real Hive Gateway (its programmatic runtime) over loopback, set up
 * as README's Federation section tells an operator to: the router's key on every request to the
 * AI Search subgraph, the end user's credentials propagated per operation, subscriptions over SSE
 * or graphql-ws to the subgraph.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createGatewayRuntime } from "@graphql-hive/gateway-runtime";
import { composeServices } from "@theguild/federation-composition";
import { parse } from "graphql";
import { expect } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { captureLogs } from "../helpers/logs.ts";
import { CATALOG_SDL, startCatalog, type TeamRecord } from "./catalog-subgraph.ts";

export const ROUTER_KEY = "hive-router-key-0123456789";
export const CLIENT_KEY = "hive-client-key-0123456789";
/** How the router's own users say who they are (the router authenticates them itself). */
export const USER_HEADER = "x-session-user";

export const TEAMS: TeamRecord[] = [
  {
    slug: "search-platform",
    name: "Search Platform",
    namespaces: ["default"],
    instances: [
      { namespace: "default", instanceId: "gateway-docs" },
      { namespace: "default", instanceId: "frontend-recipes" },
    ],
  },
  {
    slug: "people-ops",
    name: "People Ops",
    namespaces: ["handbook"],
    instances: [{ namespace: "handbook", instanceId: "onboarding" }],
  },
];

export interface Supergraph {
  harness: GatewayHarness;
  logs: ReturnType<typeof captureLogs>;
  catalog: Awaited<ReturnType<typeof startCatalog>>;
  /** Hive Gateway's GraphQL endpoint. */
  url: string;
  close(): Promise<void>;
}

/** The AI Search gateway, the catalog and Hive Gateway in front of both. */
export async function startSupergraph(subscriptions: "sse" | "ws"): Promise<Supergraph> {
  const logs = captureLogs("info");
  const harness = await startGateway(
    // Slow deltas, so streams stay live while a test holds many.
    { streamDelayMs: 40 },
    {
      AUTH_REQUIRED: "true",
      AUTH_API_KEYS: CLIENT_KEY,
      AUTH_ROUTER_API_KEYS: ROUTER_KEY,
      MAX_SUBSCRIPTIONS_PER_CLIENT: "20",
      MAX_SUBSCRIPTIONS_PER_CONNECTION: "10",
      // A stream whose SSE response closes stays resumable this long before its upstream request
      // is aborted; short, so a test sees the abort soon.
      STREAM_RESUME_GRACE_MS: "200",
      LOG_LEVEL: "info",
    },
    { logger: logs.logger },
  );
  const catalog = await startCatalog(TEAMS);
  const service = await harness.graphql<{ _service: { sdl: string } }>(
    `{ _service { sdl } }`,
    {},
    { "x-router-key": ROUTER_KEY },
  );
  const composed = composeServices([
    {
      name: "aisearch",
      url: harness.gateway.graphqlUrl,
      typeDefs: parse(service.body.data!._service.sdl),
    },
    { name: "catalog", url: catalog.url, typeDefs: parse(CATALOG_SDL) },
  ]);
  expect(composed.errors ?? []).toEqual([]);
  const routerKey: [string, string] = ["x-router-key", ROUTER_KEY];
  const gateway = createGatewayRuntime({
    supergraph: composed.supergraphSdl!,
    logging: false,
    // The end user's credentials, to the AI Search subgraph only: over HTTP and SSE as headers,
    // over graphql-ws in each operation's `extensions.headers`.
    propagateHeaders: {
      fromClientToSubgraphs: ({ request, subgraphName }) =>
        subgraphName === "aisearch"
          ? {
              authorization: request.headers.get("authorization"),
              "x-end-user-id": request.headers.get(USER_HEADER),
            }
          : undefined,
    },
    transportEntries: {
      aisearch: {
        // The router's own key, on every HTTP request (queries, mutations, SSE subscriptions)…
        headers: [routerKey],
        options:
          subscriptions === "ws"
            ? // …and on the upgrade of the one WebSocket all subscriptions share.
              { subscriptions: { kind: "ws", location: "/graphql", headers: [routerKey] } }
            : {},
      },
    },
  });
  const server: Server = createServer(gateway);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    harness,
    logs,
    catalog,
    url: `http://127.0.0.1:${port}/graphql`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.dispose();
      await catalog.close();
      await harness.close();
    },
  };
}

/** What a federated stream event carries: the chunks with their instance's team (catalog). */
export const FEDERATED_STREAM = /* GraphQL */ `
  subscription FederatedStream($input: ChatCompletionInput!) {
    chatCompletionStream(input: $input) {
      __typename
      ... on ChatCompletionChunksEvent {
        chunks { chunkId instance { instanceId team { name } namespace { owner { slug } } } }
      }
      ... on ChatCompletionDeltaEvent { sequence content }
      ... on ChatCompletionDoneEvent { completion { content } }
      ... on ChatCompletionFailedEvent { code }
    }
  }
`;

export const streamInput = (question = "How are subscriptions streamed?") => ({
  input: {
    instanceIds: ["gateway-docs", "frontend-recipes"],
    messages: [{ role: "USER", content: question }],
  },
});
