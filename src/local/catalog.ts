/**
 * The read side of namespaces and instances: wire objects built from the loaded corpus, plus
 * the searchable indexes per instance, and page-paginated listing.
 */

import type { Instance, InstanceStats, Namespace, ResultInfo } from "../upstream/types.ts";
import type { Corpus, CorpusInstance, CorpusNamespace } from "./corpus.ts";
import { EXTRACTIVE_MODEL } from "./generation.ts";
import { KeywordIndex } from "./keyword-index.ts";
import type { SearchableInstance } from "./retrieval.ts";
import { type EmbeddingsClient, VectorIndex } from "./vector-index.ts";

export const DEFAULT_PER_PAGE = 20;

export interface CatalogModels {
  /** Reported as `ai_search_model`. */
  generationModel: string | undefined;
  embeddings: EmbeddingsClient | undefined;
}

export class Catalog {
  private readonly searchable = new Map<string, SearchableInstance>();

  constructor(
    readonly corpus: Corpus,
    private readonly models: CatalogModels,
  ) {
    for (const namespace of corpus.namespaces.values()) {
      for (const instance of namespace.instances.values()) {
        const entry: SearchableInstance = {
          corpus: instance,
          keyword: new KeywordIndex(instance.chunks),
        };
        if (models.embeddings) entry.vector = new VectorIndex(instance.chunks, models.embeddings);
        this.searchable.set(`${namespace.name}/${instance.id}`, entry);
      }
    }
  }

  namespace(name: string): CorpusNamespace | undefined {
    return this.corpus.namespaces.get(name);
  }

  instance(namespace: string, id: string): SearchableInstance | undefined {
    return this.searchable.get(`${namespace}/${id}`);
  }

  namespaces(search: string | undefined): Namespace[] {
    const needle = search?.toLowerCase();
    return [...this.corpus.namespaces.values()]
      .filter(
        (ns) =>
          !needle ||
          ns.name.toLowerCase().includes(needle) ||
          (ns.description ?? "").toLowerCase().includes(needle),
      )
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name))
      .map(toNamespace);
  }

  /** Upstream filters instances by id only (case-insensitive substring). */
  instances(
    namespace: CorpusNamespace,
    search: string | undefined,
    direction: "asc" | "desc",
  ): Instance[] {
    const needle = search?.toLowerCase();
    const sign = direction === "asc" ? 1 : -1;
    return [...namespace.instances.values()]
      .filter((instance) => !needle || instance.id.toLowerCase().includes(needle))
      .sort(
        (a, b) =>
          sign * a.settings.createdAt.localeCompare(b.settings.createdAt) ||
          sign * a.id.localeCompare(b.id),
      )
      .map((instance) => this.toInstance(instance));
  }

  toInstance(instance: CorpusInstance): Instance {
    const { settings } = instance;
    const wire: Instance = {
      id: instance.id,
      created_at: settings.createdAt,
      modified_at: settings.modifiedAt,
      namespace: instance.namespace,
      status: "active",
      paused: false,
      enable: true,
      type: "r2",
      source: `local-corpus/${instance.namespace}/${instance.id}`,
      ai_search_model: this.models.generationModel ?? EXTRACTIVE_MODEL,
      reranking: false,
      rewrite_query: false,
      fusion_method: settings.fusionMethod,
      index_method: { keyword: true, vector: this.models.embeddings !== undefined },
      max_num_results: settings.maxNumResults,
      score_threshold: settings.scoreThreshold,
      chunk_size: settings.chunkSize,
      chunk_overlap: settings.chunkOverlap,
      cache: false,
      custom_metadata: instance.metadataFields,
    };
    if (this.models.embeddings) wire.embedding_model = this.models.embeddings.model;
    if (instance.lastActivityMs !== undefined)
      wire.last_activity = new Date(instance.lastActivityMs).toISOString();
    return wire;
  }

  stats(instance: CorpusInstance): InstanceStats {
    const payloadSizeBytes = instance.documents.reduce((sum, doc) => sum + doc.sizeBytes, 0);
    const metadataSizeBytes = instance.documents.reduce(
      (sum, doc) => sum + Buffer.byteLength(JSON.stringify(doc.metadata)),
      0,
    );
    const stats: InstanceStats = {
      queued: 0,
      running: 0,
      completed: instance.documents.length,
      error: 0,
      skipped: instance.skippedFiles,
      outdated: 0,
      degraded: false,
      engine: {
        r2: { objectCount: instance.documents.length, payloadSizeBytes, metadataSizeBytes },
      },
    };
    if (instance.lastActivityMs !== undefined)
      stats.last_activity = new Date(instance.lastActivityMs).toISOString();
    return stats;
  }
}

export function toNamespace(namespace: CorpusNamespace): Namespace {
  return {
    name: namespace.name,
    created_at: namespace.createdAt,
    description: namespace.description,
  };
}

/** One page of `items`; pages past the end are empty, which is how SDK iterators stop. */
export function paginate<T>(
  items: readonly T[],
  page = 1,
  perPage = DEFAULT_PER_PAGE,
): { items: T[]; info: ResultInfo } {
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    items: slice,
    info: { page, per_page: perPage, count: slice.length, total_count: items.length },
  };
}
