import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
// Type-only imports aside, graphiql.ts loads nothing, so graphql is not imported before NODE_ENV is set.
import { EXAMPLE_MUTATION } from "./server/graphiql.ts";

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // graphql-js picks its costly development-only checks at import time, from NODE_ENV; the
  // server modules are imported only once NODE_ENV agrees with the validated configuration.
  process.env.NODE_ENV = config.env;
  const { buildApp } = await import("./server/app.ts");
  const logger = createLogger(config);
  const app = buildApp(config, { logger });
  const starting = app.start();

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal is the operator declining to wait for the drain.
      logger.warn({ signal }, "shutdown: second signal, exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, "shutdown: signal received");
    // Backstop for a close that hangs past its own deadline; unref'd, so a clean exit never waits.
    setTimeout(() => {
      logger.error("shutdown: still not done after the deadline, exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000).unref();
    // A signal during start-up stops what started, once it has.
    starting
      .catch(() => undefined)
      .then(() => app.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown: failed");
          process.exit(1);
        },
      );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);

  let running: Awaited<typeof starting>;
  try {
    running = await starting;
  } catch (error) {
    // A port in use or an unreachable corpus is an operator's fix, not a stack trace to read.
    process.stderr.write(`Start-up failed: ${(error as Error).message}\n`);
    logger.debug({ err: error }, "start-up failed");
    process.exit(1);
  }
  if (stopping) return;
  const upstream =
    running.upstream.kind === "local"
      ? `embedded local AI Search at ${running.upstream.baseUrl} (no Cloudflare credentials set)`
      : `Cloudflare AI Search at ${running.upstream.baseUrl}`;
  process.stdout.write(
    [
      `AI Search GraphQL gateway listening on ${running.graphqlUrl}`,
      `Upstream: ${upstream}`,
      config.graphiql ? `GraphiQL: open ${running.graphqlUrl} in a browser` : "GraphiQL: off",
      "Try this in GraphiQL:",
      EXAMPLE_MUTATION,
      "",
    ].join("\n"),
  );
}

await main();
