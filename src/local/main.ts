/**
 * `npm run local` (built: `node dist/local/main.js`): the local AI Search as a standalone server,
 * configured from LOCAL_* env variables (see env.ts). Mistakes end the process with one readable
 * line, not a stack; signals stop it as they stop the gateway (see shutdown-signals.ts).
 */

import { stopOnSignals } from "../shutdown-signals.ts";
import { EnvError, parseLocalEnv } from "./env.ts";
import { defaultCorpusDir, startLocalAiSearch } from "./server.ts";

function fail(message: string): never {
  console.error(`local-ai-search: ${message}`);
  process.exit(1);
}

async function main(): Promise<void> {
  let options: ReturnType<typeof parseLocalEnv>;
  try {
    options = parseLocalEnv(process.env);
  } catch (error) {
    if (error instanceof EnvError) fail(error.message);
    throw error;
  }

  let local: Awaited<ReturnType<typeof startLocalAiSearch>>;
  try {
    local = await startLocalAiSearch(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      fail(`port ${options.port} on ${options.host} is already in use (set LOCAL_PORT)`);
    if (code === "EACCES") fail(`not allowed to listen on ${options.host}:${options.port}`);
    fail((error as Error).message);
  }

  const token = options.apiToken ?? "local-dev-token";
  const generation = options.llm
    ? `LLM ${options.llm.model} at ${options.llm.baseUrl}`
    : "extractive answers (no LLM configured)";
  console.log(`Local AI Search listening on ${local.url}`);
  console.log(`  API base:   ${local.baseUrl}   (any account id)`);
  console.log(`  corpus:     ${options.corpusDir ?? defaultCorpusDir()}`);
  console.log(`  data:       ${options.dataDir}   (LOCAL_DATA_DIR)`);
  console.log(`  answers:    ${generation}`);
  console.log(
    `  retrieval:  keyword (BM25)${options.embeddings ? ` + vector (${options.embeddings.model})` : ""}`,
  );
  if (options.faults) console.log(`  faults:     ${JSON.stringify(options.faults)}`);
  console.log("Try:");
  console.log(
    `  curl -s -H 'Authorization: Bearer ${token}' ${local.baseUrl}/accounts/local/ai-search/namespaces`,
  );
  console.log(
    `  curl -s -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' ` +
      `${local.baseUrl}/accounts/local/ai-search/namespaces/default/chat/completions ` +
      `-d '{"messages":[{"role":"user","content":"How does fusion work?"}],"ai_search_options":{"instance_ids":["ai-search-concepts"]}}'`,
  );

  stopOnSignals({
    // Closing takes milliseconds; this is only for a close that hangs.
    backstopMs: 10_000,
    stop: () => local.close(),
    notify(notice, { signal, error }) {
      if (notice === "stopping") console.log(`\n${signal} received, closing the local AI Search`);
      else if (notice === "repeat-ignored") console.log(`${signal} repeated by npm, still closing`);
      else if (notice === "forced") console.error(`local-ai-search: ${signal} again, exiting now`);
      else if (notice === "overdue") console.error("local-ai-search: could not close in time");
      else console.error(`local-ai-search: could not close: ${(error as Error).message}`);
    },
  });
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
