import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { GatewayConfig } from "../config.ts";
import type { LocalAiSearch } from "../local/server.ts";
import { createLogger, type Logger } from "../logger.ts";
import { createTracing } from "../tracing.ts";
import { AiSearchClient } from "../upstream/client.ts";
import type { ClientHooks } from "../upstream/hooks.ts";
import { GatewayMetrics } from "./observability/metrics.ts";
import { upstreamHooks } from "./observability/upstream.ts";
import { anonymousScopesFor } from "./policy/client-auth.ts";
import { ALL_SCOPES } from "./policy/scopes.ts";
import { serveGraphqlWs } from "./transports/graphql-ws.ts";
import { createLimitedServer } from "./transports/http-server.ts";
import { closeUpstream, Drain, drainServer } from "./transports/shutdown.ts";
import { createGatewayYoga } from "./yoga.ts";

export interface RunningGateway {
  /** Base URL of the gateway, e.g. `http://127.0.0.1:4000`. */
  url: string;
  graphqlUrl: string;
  upstream: { kind: "cloudflare" | "local"; baseUrl: string };
}

export interface App {
  start(): Promise<RunningGateway>;
  /**
   * Graceful shutdown (see `shutdown.ts`): refuses new work, lets in-flight requests finish
   * and ends live streams with `SHUTTING_DOWN`, all within `SHUTDOWN_TIMEOUT_MS`.
   */
  stop(): Promise<void>;
  readonly logger: Logger;
  /** The app's metrics registry; unset when `METRICS=false`. */
  readonly metrics?: GatewayMetrics;
}

export interface AppOptions {
  /**
   * Where the app logs; tests pass a pino logger writing to a stream they read.
   * @default JSON lines on stdout at `LOG_LEVEL`
   */
  logger?: Logger;
  /**
   * Receives finished spans when tracing is on (`OTEL_EXPORTER_OTLP_ENDPOINT` set); tests pass
   * an in-memory one.
   * @default batch export over OTLP/HTTP to the configured endpoint
   */
  spanProcessor?: SpanProcessor;
}

/**
 * Connections the kernel may hold for us before they are accepted (Node's default is 511). A
 * burst of new SSE subscribers arriving while the event loop is busy overflowed 511, and the
 * overflow was refused (`ECONNRESET`, connect timeouts at 5,000 streams). The kernel caps it at
 * `net.core.somaxconn` (4096 on current Linux).
 */
const LISTEN_BACKLOG = 4096;

/** The account id the embedded local AI Search is addressed with; it accepts any. */
const LOCAL_ACCOUNT_ID = "local";

/** Timeouts, retries and circuit breaker from the configuration, for either upstream. */
function callPolicy(config: GatewayConfig, hooks: ClientHooks) {
  return {
    timeouts: config.upstreamCalls.timeouts,
    retry: { maxRetries: config.upstreamCalls.maxRetries },
    circuit: { minimumCalls: config.circuit.failureThreshold, openMs: config.circuit.openMs },
    hooks,
  };
}

async function connectUpstream(config: GatewayConfig, hooks: ClientHooks) {
  const upstream = config.upstream;
  if (upstream.kind === "cloudflare") {
    return {
      client: new AiSearchClient({
        baseUrl: upstream.baseUrl,
        accountId: upstream.accountId,
        credentials: upstream.credentials,
        ...callPolicy(config, hooks),
      }),
      baseUrl: upstream.baseUrl,
      local: undefined,
    };
  }
  // Imported only here: a gateway in front of Cloudflare never loads the embedded server, its
  // indexes and its dependencies (~30 modules and their heap).
  const { defaultDataDir, startLocalAiSearch } = await import("../local/server.ts");
  // A per-run secret keeps other local processes from using the embedded upstream by accident.
  const token = randomBytes(18).toString("base64url");
  const local: LocalAiSearch = await startLocalAiSearch({
    corpusDir: upstream.corpusDir,
    streamDelayMs: upstream.streamDelayMs,
    // The same directory as `npm run local`'s: what is written survives a restart.
    dataDir: upstream.dataDir ?? defaultDataDir(),
    apiToken: token,
  });
  return {
    client: new AiSearchClient({
      baseUrl: local.baseUrl,
      accountId: LOCAL_ACCOUNT_ID,
      credentials: { kind: "token", token },
      ...callPolicy(config, hooks),
    }),
    baseUrl: local.baseUrl,
    local,
  };
}

/** Says at start-up when scopes do not protect the management mutations, and why. */
function announceAuthorization(config: GatewayConfig, logger: Logger): void {
  const { security } = config;
  if (security.passThroughCredentials) {
    logger.info(
      "authorization: scopes are not enforced in pass-through mode; each caller's Cloudflare token decides",
    );
  } else if (anonymousScopesFor(security) === ALL_SCOPES) {
    logger.warn(
      "authorization: client authentication is off, so every caller has every scope (read, chat and admin: the management mutations included)",
    );
  }
}

/** Composes the gateway: upstream client, Yoga with its plugins, HTTP and WebSocket servers. */
export function buildApp(config: GatewayConfig, options: AppOptions = {}): App {
  let running: { close(): Promise<void>; info: RunningGateway } | undefined;
  const logger = options.logger ?? createLogger(config);
  const metrics = config.metrics ? new GatewayMetrics() : undefined;

  return {
    logger,
    metrics,
    async start() {
      if (running) return running.info;
      const tracing = await createTracing(config, { spanProcessor: options.spanProcessor });
      announceAuthorization(config, logger);
      const upstream = await connectUpstream(config, upstreamHooks({ logger, metrics, tracing }));
      const drain = new Drain();
      const client = upstream.client;
      metrics?.watchCircuit(() => client.circuitState);
      // Imported only with REDIS_URL set: ioredis and the Redis-backed stores load with it.
      const redis = config.redis
        ? await import("./redis-shared.ts").then(({ connectRedisShared }) =>
            connectRedisShared(config.redis!, config.limits, { logger, metrics }),
          )
        : undefined;
      const { yoga, webSocket, streams } = createGatewayYoga(
        config,
        client,
        { logger, metrics, tracing, drain },
        { redis },
      );
      const server = createLimitedServer(yoga, {
        maxHeaderBytes: config.limits.maxHeaderBytes,
        maxHeaders: config.limits.maxHeaders,
      });
      const ws = serveGraphqlWs(server, yoga, {
        logger,
        admission: webSocket,
        maxPayload: config.limits.wsMaxPayloadBytes,
        connectionInitWaitTimeout: config.limits.wsConnectionInitTimeoutMs,
        maxConnectionsPerClient: config.limits.maxConnectionsPerClient,
        connectionStore: redis?.connectionSlots,
        allowedOrigins: config.security.corsOrigins,
      });
      drain.trackServer(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () =>
          resolve(),
        );
      });
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
          const deadline = Date.now() + config.shutdownTimeoutMs;
          await drainServer({ drain, server, webSockets: ws, deadline, logger });
          // Streams still held (finished, kept for resume) hold timers and nothing else.
          streams.close();
          await redis?.connection.close();
          await closeUpstream(client, deadline);
          await tracing?.shutdown().catch((error: unknown) => {
            logger.warn({ err: error }, "shutdown: could not export the last spans");
          });
          await upstream.local?.close();
          logger.info("shutdown: done");
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
