/**
 * The live catalog: namespaces, their instances, each instance's items and jobs, and the search
 * indexes, which hold exactly the chunks of the items that finished indexing. Routes read and
 * change it; indexing.ts moves items through their statuses; store.ts persists it.
 *
 * An instance either came from a corpus folder (`corpus` set: its files are an external,
 * read-only source, like an R2 bucket upstream) or was created through the API (managed,
 * upload-only storage). Both accept uploads.
 */

import type {
  InstanceSettingsRequest,
  Item,
  ItemLog,
  ItemNextAction,
  ItemStatus,
  Job,
  JobLog,
  PublicEndpointParams,
} from "../upstream/management-types.ts";
import type { Instance, InstanceStats, Namespace, ResultInfo } from "../upstream/types.ts";
import { type InstanceSettings, SLUG } from "./corpus.ts";
import { type CorpusDocument, type MetadataValue, metadataFieldsOf } from "./documents.ts";
import { EXTRACTIVE_MODEL } from "./generation.ts";
import { KeywordIndex } from "./keyword-index.ts";
import type { SearchableInstance } from "./retrieval.ts";
import { type EmbeddingsClient, VectorIndex } from "./vector-index.ts";

export const DEFAULT_PER_PAGE = 20;
export const BUILTIN_SOURCE = "builtin";

export interface CatalogModels {
  /** Reported as `ai_search_model`. */
  generationModel: string | undefined;
  embeddings: EmbeddingsClient | undefined;
}

/** What the API changed on a namespace; persisted, and wins over namespace.json. */
export interface NamespaceOverrides {
  description?: string | null;
  public_endpoint_id?: string;
  public_endpoint_params?: PublicEndpointParams | null;
}

export interface NamespaceRecord {
  name: string;
  createdAt: string;
  fromCorpus: boolean;
  /** namespace.json's description (corpus namespaces), else null. */
  baseDescription: string | null;
  overrides: NamespaceOverrides;
  instances: Map<string, LiveInstance>;
}

/** Settings set through the API (create/update bodies, merged); persisted. */
export type InstanceOverrides = InstanceSettingsRequest & { paused?: boolean };

export interface ItemRecord {
  id: string;
  key: string;
  /** `builtin` (uploaded, content in the data directory) or the corpus source id. */
  sourceId: string;
  status: ItemStatus;
  error?: string;
  nextAction: ItemNextAction | null;
  checksum: string;
  fileSize: number;
  createdAt: string;
  lastSeenAt: string;
  /** File modification or upload time, ms; feeds `last_activity`. */
  activityMs: number;
  /** The corpus file's mtime when it was read; a sync compares it. */
  sourceMtimeMs?: number;
  customMetadata: Record<string, MetadataValue>;
  /** What the search indexes hold for this item (its last successful indexing). */
  document: CorpusDocument | undefined;
  logs: ItemLog[];
  /** Bumped whenever the item is queued again; an older indexing run then discards its work. */
  generation: number;
}

export interface JobRecord {
  job: Job;
  logs: JobLog[];
  /** Items this job queued and that have not finished. */
  pending: Set<string>;
  /** True while the job scans its source; it cannot end before that. */
  scanning: boolean;
  indexed: number;
  failed: number;
}

export interface CorpusSource {
  /** `<namespace>/<instance>` of the corpus folder the instance reads. */
  key: string;
  dir: string;
}

export class LiveInstance implements SearchableInstance {
  readonly items = new Map<string, ItemRecord>();
  /** Oldest first. */
  readonly jobs: JobRecord[] = [];
  readonly keyword = new KeywordIndex();
  readonly vector: VectorIndex | undefined;
  private effective: InstanceSettings;

  constructor(
    readonly id: string,
    public namespace: string,
    readonly base: InstanceSettings,
    public overrides: InstanceOverrides,
    readonly corpus: CorpusSource | undefined,
    embeddings: EmbeddingsClient | undefined,
    public modifiedAt: string = base.modifiedAt,
  ) {
    this.effective = mergeSettings(base, overrides);
    if (embeddings) this.vector = new VectorIndex([], embeddings);
  }

  get settings(): InstanceSettings {
    return this.effective;
  }

  get createdAt(): string {
    return this.base.createdAt;
  }

  get sourceId(): string | undefined {
    return this.corpus ? `r2:local-corpus/${this.corpus.key}` : undefined;
  }

  /** Applies an update; true when chunking changed, so every item must be indexed again. */
  update(overrides: InstanceOverrides, now: string): boolean {
    const before = this.effective;
    this.overrides = { ...this.overrides, ...overrides };
    this.effective = mergeSettings(this.base, this.overrides);
    this.modifiedAt = now;
    return (
      before.chunkSize !== this.effective.chunkSize ||
      before.chunkOverlap !== this.effective.chunkOverlap
    );
  }

  /** Makes `document` (or nothing) what the indexes hold for `item`. */
  setDocument(item: ItemRecord, document: CorpusDocument | undefined, vectors?: number[][]): void {
    if (item.document) {
      this.keyword.remove(item.document.chunks);
      this.vector?.remove(item.document.chunks);
    }
    item.document = document;
    if (document) {
      this.keyword.add(document.chunks);
      this.vector?.add(document.chunks, vectors);
    }
  }

  findByKey(key: string, sourceId?: string): ItemRecord | undefined {
    for (const item of this.items.values()) {
      if (item.key === key && (sourceId === undefined || item.sourceId === sourceId)) return item;
    }
    return undefined;
  }

  lastJob(): JobRecord | undefined {
    return this.jobs.at(-1);
  }
}

function mergeSettings(base: InstanceSettings, overrides: InstanceOverrides): InstanceSettings {
  return {
    ...base,
    chunkSize: overrides.chunk_size ?? base.chunkSize,
    chunkOverlap: overrides.chunk_overlap ?? base.chunkOverlap,
    maxNumResults: overrides.max_num_results ?? base.maxNumResults,
    scoreThreshold: overrides.score_threshold ?? base.scoreThreshold,
    fusionMethod: overrides.fusion_method ?? base.fusionMethod,
    keywordMatchMode: overrides.retrieval_options?.keyword_match_mode ?? base.keywordMatchMode,
  };
}

/** Settings echoed back as given: the local server accepts them but does not act on them. */
const ECHOED = [
  "reranking_model",
  "rewrite_model",
  "cache_threshold",
  "cache_ttl",
  "sync_interval",
] as const;

export class Catalog {
  readonly namespaces = new Map<string, NamespaceRecord>();
  /** Corpus namespaces and instances (`ns/id`) deleted through the API: not brought back on start. */
  readonly removedCorpus = { namespaces: new Set<string>(), instances: new Set<string>() };

  constructor(readonly models: CatalogModels) {}

  namespace(name: string): NamespaceRecord | undefined {
    return SLUG.test(name) ? this.namespaces.get(name) : undefined;
  }

  instance(namespace: string, id: string): LiveInstance | undefined {
    return SLUG.test(id) ? this.namespace(namespace)?.instances.get(id) : undefined;
  }

  newInstance(
    id: string,
    namespace: string,
    base: InstanceSettings,
    overrides: InstanceOverrides,
    corpus?: CorpusSource,
    modifiedAt?: string,
  ): LiveInstance {
    return new LiveInstance(
      id,
      namespace,
      base,
      overrides,
      corpus,
      this.models.embeddings,
      modifiedAt,
    );
  }

  listNamespaces(search: string | undefined): Namespace[] {
    const needle = search?.toLowerCase();
    return [...this.namespaces.values()]
      .map(toNamespace)
      .filter(
        (ns) =>
          !needle ||
          ns.name.toLowerCase().includes(needle) ||
          (ns.description ?? "").toLowerCase().includes(needle),
      )
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.name.localeCompare(b.name));
  }

  /** Upstream filters instances by id only (case-insensitive substring). */
  listInstances(
    namespace: NamespaceRecord,
    search: string | undefined,
    direction: "asc" | "desc",
  ): Instance[] {
    const needle = search?.toLowerCase();
    const sign = direction === "asc" ? 1 : -1;
    return [...namespace.instances.values()]
      .filter((instance) => !needle || instance.id.toLowerCase().includes(needle))
      .sort(
        (a, b) => sign * a.createdAt.localeCompare(b.createdAt) || sign * a.id.localeCompare(b.id),
      )
      .map((instance) => this.toInstance(instance));
  }

  toInstance(instance: LiveInstance): Instance {
    const { settings, overrides } = instance;
    const documents = [...instance.items.values()].flatMap((item) =>
      item.document ? [item.document] : [],
    );
    const wire: Instance = {
      id: instance.id,
      created_at: instance.createdAt,
      modified_at: instance.modifiedAt,
      namespace: instance.namespace,
      status: "active",
      paused: overrides.paused ?? false,
      enable: true,
      ai_search_model: overrides.ai_search_model || this.models.generationModel || EXTRACTIVE_MODEL,
      reranking: overrides.reranking ?? false,
      rewrite_query: overrides.rewrite_query ?? false,
      fusion_method: settings.fusionMethod,
      index_method: { keyword: true, vector: this.models.embeddings !== undefined },
      max_num_results: settings.maxNumResults,
      score_threshold: settings.scoreThreshold,
      chunk_size: settings.chunkSize,
      chunk_overlap: settings.chunkOverlap,
      cache: overrides.cache ?? false,
      custom_metadata: overrides.custom_metadata ?? metadataFieldsOf(documents),
    };
    // A corpus folder plays the part of an R2 bucket; managed instances have no type or source.
    if (instance.corpus) {
      wire.type = "r2";
      wire.source = `local-corpus/${instance.corpus.key}`;
    }
    for (const field of ECHOED) {
      const value = overrides[field];
      if (value !== undefined && value !== null) Object.assign(wire, { [field]: value });
    }
    if (this.models.embeddings) wire.embedding_model = this.models.embeddings.model;
    const activity = lastActivity(instance);
    if (activity !== undefined) wire.last_activity = activity;
    return wire;
  }

  stats(instance: LiveInstance): InstanceStats {
    const counts: Record<ItemStatus, number> = {
      queued: 0,
      running: 0,
      completed: 0,
      error: 0,
      skipped: 0,
      outdated: 0,
    };
    let payloadSizeBytes = 0;
    let metadataSizeBytes = 0;
    let objectCount = 0;
    for (const item of instance.items.values()) {
      counts[item.status] += 1;
      if (!item.document) continue;
      objectCount += 1;
      payloadSizeBytes += item.fileSize;
      metadataSizeBytes += Buffer.byteLength(JSON.stringify(item.document.metadata));
    }
    const stats: InstanceStats = {
      ...counts,
      degraded: false,
      engine: { r2: { objectCount, payloadSizeBytes, metadataSizeBytes } },
    };
    const activity = lastActivity(instance);
    if (activity !== undefined) stats.last_activity = activity;
    return stats;
  }
}

function lastActivity(instance: LiveInstance): string | undefined {
  let latest: number | undefined;
  for (const item of instance.items.values()) {
    if (item.document) latest = Math.max(latest ?? 0, item.activityMs);
  }
  return latest === undefined ? undefined : new Date(latest).toISOString();
}

export function toNamespace(record: NamespaceRecord): Namespace {
  const { overrides } = record;
  const wire: Namespace = {
    name: record.name,
    created_at: record.createdAt,
    description:
      "description" in overrides ? (overrides.description ?? null) : record.baseDescription,
  };
  if (overrides.public_endpoint_id) wire.public_endpoint_id = overrides.public_endpoint_id;
  if (overrides.public_endpoint_params) {
    wire.public_endpoint_params = { ...overrides.public_endpoint_params };
  }
  return wire;
}

export function toItem(instance: LiveInstance, item: ItemRecord): Item {
  const wire: Item = {
    id: item.id,
    key: item.key,
    status: item.status,
    checksum: item.checksum,
    chunks_count: item.document ? item.document.chunks.length : null,
    file_size: item.fileSize,
    created_at: item.createdAt,
    last_seen_at: item.lastSeenAt,
    metadata: item.document ? { ...item.document.metadata } : { ...item.customMetadata },
    namespace: instance.namespace,
    next_action: item.nextAction,
    source_id: item.sourceId,
  };
  if (item.error !== undefined) wire.error = item.error;
  return wire;
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
