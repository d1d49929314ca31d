import { ConfigError, type GatewayConfig, loadConfig } from "./config.ts";
import { createLogger, type Logger, StdoutSink } from "./logger.ts";
import type { RunningGateway } from "./server/app.ts";
// Type-only imports aside, graphiql.ts loads nothing, so graphql is not imported before NODE_ENV is set.
import { EXAMPLE_MUTATION } from "./server/graphiql.ts";
import { stopOnSignals } from "./shutdown-signals.ts";

/** How long the last log lines get to leave a slow stdout before the process exits. */
const LOG_FLUSH_MS = 500;

/** A start-up mistake is the operator's to fix: one line on stderr, not a stack trace to read. */
function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function readConfig(): GatewayConfig {
  try {
    return loadConfig(process.env, process.argv.slice(2));
  } catch (error) {
    if (error instanceof ConfigError) fail(`Configuration error: ${error.message}`);
    throw error;
  }
}

/** The usual reasons a server cannot listen, said in terms of the settings that fix them. */
function startupProblem(error: unknown, config: GatewayConfig): string {
  const code = (error as NodeJS.ErrnoException).code;
  const address = `${config.host}:${config.port}`;
  if (code === "EADDRINUSE") return `${address} is already in use (choose another PORT)`;
  if (code === "EACCES") return `not allowed to listen on ${address} (choose another PORT)`;
  if (code === "EADDRNOTAVAIL") return `${config.host} is not an address of this machine (HOST)`;
  return error instanceof Error ? error.message : String(error);
}

/** A friendly banner for a person at a terminal; one JSON line for anything reading a pipe. */
function announce(running: RunningGateway, config: GatewayConfig, logger: Logger): void {
  if (!process.stdout.isTTY) {
    logger.info(
      {
        graphqlUrl: running.graphqlUrl,
        // Unset when CHAT_PAGE is off.
        chatPageUrl: config.chatPage ? `${running.url}/` : undefined,
        upstream: running.upstream,
        graphiql: config.graphiql,
      },
      "gateway listening",
    );
    return;
  }
  const upstream =
    running.upstream.kind === "local"
      ? `embedded local AI Search at ${running.upstream.baseUrl} (no Cloudflare credentials set)`
      : `Cloudflare AI Search at ${running.upstream.baseUrl}`;
  process.stdout.write(
    [
      `AI Search GraphQL gateway listening on ${running.graphqlUrl}`,
      `Upstream: ${upstream}`,
      config.chatPage ? `Chat page: open ${running.url}/ in a browser` : "Chat page: off",
      config.graphiql ? `GraphiQL: open ${running.graphqlUrl} in a browser` : "GraphiQL: off",
      "Try this in GraphiQL:",
      EXAMPLE_MUTATION,
      "",
    ].join("\n"),
  );
}

async function main() {
  const config = readConfig();
  // graphql-js picks its costly development-only checks at import time, from NODE_ENV; the
  // server modules are imported only once NODE_ENV agrees with the validated configuration.
  process.env.NODE_ENV = config.env;
  const { buildApp } = await import("./server/app.ts");
  const stdout = new StdoutSink(process.stdout, { maxBufferedBytes: config.logBufferBytes });
  const logger = createLogger(config, { destination: stdout });
  // Node's own warnings (a listener leak, a deprecation) would be text on stderr: JSON lines too.
  process.removeAllListeners("warning");
  process.on("warning", (warning) => logger.warn({ err: warning }, "node warning"));
  // Whatever escapes still ends the process as Node would, but as a JSON line, not a bare stack,
  // and only once the lines before it have left: on a full pipe they wait in the process, and
  // `process.exit` would drop them, the fatal one with them.
  let faulted = false;
  for (const event of ["uncaughtException", "unhandledRejection"] as const) {
    process.on(event, (error: unknown) => {
      logger.fatal({ err: error }, event);
      if (faulted) return;
      faulted = true;
      void stdout.drain(LOG_FLUSH_MS).finally(() => process.exit(1));
    });
  }
  const app = buildApp(config, { logger });
  const starting = app.start();

  let stopping = false;
  stopOnSignals({
    backstopMs: config.shutdownTimeoutMs + 5_000,
    async stop() {
      stopping = true;
      // A signal during start-up stops what started, once it has.
      await starting.catch(() => undefined);
      await app.stop();
      await stdout.drain(LOG_FLUSH_MS);
    },
    notify(notice, { signal, error }) {
      if (notice === "stopping") {
        logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, "shutdown: signal received");
      } else if (notice === "repeat-ignored") {
        logger.info(
          { signal },
          "shutdown: signal repeated by npm, still draining (again to exit now)",
        );
      } else if (notice === "forced") {
        logger.warn({ signal }, "shutdown: second signal, exiting now");
      } else if (notice === "overdue") {
        logger.error({ signal }, "shutdown: still not done after the deadline, exiting");
      } else {
        logger.error({ signal, err: error }, "shutdown: failed");
      }
    },
  });

  let running: RunningGateway;
  try {
    running = await starting;
  } catch (error) {
    logger.fatal({ err: error }, "start-up failed");
    await stdout.drain(LOG_FLUSH_MS);
    fail(`Start-up failed: ${startupProblem(error, config)}`);
  }
  if (!stopping) announce(running, config, logger);
}

await main();
