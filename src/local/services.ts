/**
 * Assembling what the routes share: the catalog restored from the corpus folder and the data
 * directory, the indexing worker, and persistence. Kept out of server.ts, which is about HTTP.
 */

import { readFile } from "node:fs/promises";
import path from "node:path";
import { BUILTIN_SOURCE, Catalog } from "./catalog.ts";
import type { Services } from "./context.ts";
import { loadCorpus } from "./corpus.ts";
import type { LlmConfig } from "./generation.ts";
import { Indexer } from "./indexing.ts";
import { restoreCatalog, snapshotCatalog } from "./persistence.ts";
import { DataStore } from "./store.ts";
import { EmbeddingsClient, type EmbeddingsConfig } from "./vector-index.ts";

export interface ServiceOptions {
  corpusDir: string;
  dataDir: string | undefined;
  llm: LlmConfig | undefined;
  embeddings: EmbeddingsConfig | undefined;
  streamDelayMs: number;
  indexingStepMs: number;
  syncCooldownMs: number;
}

/** Cloudflare's `wait_for_completion` waits "up to 40 s". */
const WAIT_FOR_COMPLETION_MS = 40_000;

export async function openServices(
  options: ServiceOptions,
): Promise<{ services: Services; close(): Promise<void> }> {
  const warn = (message: string) => console.warn(`[local-ai-search] ${message}`);
  const corpus = await loadCorpus(options.corpusDir, { onWarning: warn });
  const store = new DataStore(options.dataDir);
  const state = await store.load();
  const embeddings = options.embeddings ? new EmbeddingsClient(options.embeddings) : undefined;
  const catalog = new Catalog({ generationModel: options.llm?.model, embeddings });

  const persist = () => store.save(() => snapshotCatalog(catalog));
  const indexer = new Indexer({
    stepMs: options.indexingStepMs,
    readContent: (instance, item) =>
      item.sourceId === BUILTIN_SOURCE || !instance.corpus
        ? store.readBlob(item.id)
        : readFile(path.join(instance.corpus.dir, item.key)),
    persist: () => {
      persist().catch((error: unknown) => {
        console.error("[local-ai-search] could not save the data directory:", error);
      });
    },
  });
  const restored = await restoreCatalog(catalog, corpus, state, indexer, warn);
  if (state) await store.removeOrphanBlobs(restored.blobs);
  for (const { instance, item } of restored.requeue) indexer.enqueue(instance, item);

  let completions = 0;
  const services: Services = {
    catalog,
    store,
    indexer,
    persist,
    llm: options.llm,
    embeddings,
    streamDelayMs: options.streamDelayMs,
    syncCooldownMs: options.syncCooldownMs,
    waitForCompletionMs: WAIT_FOR_COMPLETION_MS,
    nextCompletionId: () => `chatcmpl-local-${++completions}`,
  };
  return {
    services,
    async close() {
      await indexer.close();
      await store.close();
    },
  };
}
