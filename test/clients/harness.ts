/**
 * The gateway a real-client test file talks to, over loopback, and the graphql-ws sockets its
 * clients open: started once per file, closed after it, the local AI Search's request log
 * cleared before each test.
 */
import type { createClient } from "graphql-ws";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { wsClient } from "../helpers/streams.ts";

export interface ClientGateway {
  readonly harness: GatewayHarness;
  /** A graphql-ws client of the gateway, disposed after the file. */
  socket(): ReturnType<typeof createClient>;
  /** The searches the local AI Search has served since the test began. */
  searches(): GatewayHarness["local"]["requests"];
}

export function useClientGateway(): ClientGateway {
  let harness: GatewayHarness | undefined;
  const sockets: ReturnType<typeof createClient>[] = [];
  beforeAll(async () => {
    harness = await startGateway({ streamDelayMs: 1 });
  });
  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await harness?.close();
  });
  beforeEach(() => harness!.local.resetRequests());
  return {
    get harness() {
      return harness!;
    },
    socket() {
      const socket = wsClient(harness!.gateway.graphqlUrl);
      sockets.push(socket);
      return socket;
    },
    searches: () => harness!.local.requests.filter((r) => r.path.endsWith("/search")),
  };
}
