/**
 * Hive Gateway with graphql-ws to the AI Search subgraph: every end user's subscription shares
 * the router's one WebSocket, each operation naming its end user (see test/federation/hive.ts).
 */
import { afterAll, beforeAll } from "vitest";
import { type Supergraph, startSupergraph } from "./hive.ts";
import { subscriptionSuite } from "./hive-subscriptions.ts";

let supergraph: Supergraph;
beforeAll(async () => {
  supergraph = await startSupergraph("ws");
}, 30_000);
afterAll(async () => {
  await supergraph?.close();
});

subscriptionSuite(() => supergraph, "ws");
