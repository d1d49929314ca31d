import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { GatewayConfig } from "../config.ts";
import { type LocalAiSearch, startLocalAiSearch } from "../local/server.ts";
import { AiSearchClient } from "../upstream/client.ts";
import { serveGraphqlWs } from "./graphql-ws.ts";
import { createGatewayYoga } from "./yoga.ts";

export interface RunningGateway {
  /** Base URL of the gateway, e.g. `http://127.0.0.1:4000`. */
  url: string;
  graphqlUrl: string;
  upstream: { kind: "cloudflare" | "local"; baseUrl: string };
}

export interface App {
  start(): Promise<RunningGateway>;
  stop(): Promise<void>;
}

/** The account id the embedded local AI Search is addressed with; it accepts any. */
const LOCAL_ACCOUNT_ID = "local";

async function connectUpstream(config: GatewayConfig) {
  const upstream = config.upstream;
  if (upstream.kind === "cloudflare") {
    return {
      client: new AiSearchClient({
        baseUrl: upstream.baseUrl,
        accountId: upstream.accountId,
        credentials: upstream.credentials,
      }),
      baseUrl: upstream.baseUrl,
      local: undefined,
    };
  }
  // A per-run secret keeps other local processes from using the embedded upstream by accident.
  const token = randomBytes(18).toString("base64url");
  const local: LocalAiSearch = await startLocalAiSearch({
    corpusDir: upstream.corpusDir,
    streamDelayMs: upstream.streamDelayMs,
    apiToken: token,
  });
  return {
    client: new AiSearchClient({
      baseUrl: local.baseUrl,
      accountId: LOCAL_ACCOUNT_ID,
      credentials: { kind: "token", token },
    }),
    baseUrl: local.baseUrl,
    local,
  };
}

/** Composes the gateway: upstream client, Yoga with its plugins, HTTP and WebSocket servers. */
export function buildApp(config: GatewayConfig): App {
  let running: { close(): Promise<void>; info: RunningGateway } | undefined;

  return {
    async start() {
      if (running) return running.info;
      const upstream = await connectUpstream(config);
      const { yoga, health } = createGatewayYoga(config, upstream.client);
      const server = createServer(yoga);
      const ws = serveGraphqlWs(server, yoga);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.port, config.host, () => resolve());
      });
      void health.probe();
      const address = server.address() as AddressInfo;
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      const url = `http://${host}:${address.port}`;
      const info: RunningGateway = {
        url,
        graphqlUrl: `${url}/graphql`,
        upstream: { kind: upstream.local ? "local" : "cloudflare", baseUrl: upstream.baseUrl },
      };
      running = {
        info,
        async close() {
          await ws.close();
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
          await upstream.client.close();
          await upstream.local?.close();
        },
      };
      return info;
    },
    async stop() {
      const current = running;
      running = undefined;
      await current?.close();
    },
  };
}
