import { ConfigError, loadConfig } from "./config.ts";
import { buildApp } from "./server/app.ts";

const EXAMPLE_MUTATION = `mutation Ask {
  chatCompletion(input: {
    namespace: "default"
    instanceIds: ["gateway-docs", "ai-search-concepts"]
    messages: [{ role: USER, content: "How does the gateway stream answers?" }]
  }) {
    model
    content
    chunks { instanceId score item { key } scoringDetails { keywordRank keywordScore fusionMethod } }
    errors { instanceId message }
  }
}`;

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
  const app = buildApp(config);
  const running = await app.start();
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

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await app.stop();
    process.exit(0);
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

await main();
