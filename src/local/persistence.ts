/**
 * Between the live catalog and the data directory's state: assembling the catalog at start
 * from the corpus folder plus what was written through the API, and the snapshot written back.
 *
 * The corpus folder is only ever read. Its namespaces and instances appear as shipped unless
 * the state says otherwise: settings changed (kept as overrides, so later corpus edits still
 * show through), moved, or deleted (remembered as removed). Corpus files are re-read and
 * re-indexed on every start; uploaded items are re-indexed from their blobs, and the ones that
 * were still waiting or running when the process stopped are queued again.
 */

import type { Job } from "../upstream/management-types.ts";
import {
  BUILTIN_SOURCE,
  type Catalog,
  type ItemRecord,
  type JobRecord,
  type LiveInstance,
  type NamespaceRecord,
} from "./catalog.ts";
import {
  type Corpus,
  type CorpusFile,
  type CorpusInstance,
  corpusSeed,
  DEFAULT_INSTANCE_SETTINGS,
} from "./corpus.ts";
import { chunkDocument } from "./documents.ts";
import type { Indexer } from "./indexing.ts";
import { corpusItemId, JobLogType, jobLog } from "./records.ts";
import {
  type PersistedInstance,
  type PersistedItem,
  type PersistedState,
  STATE_VERSION,
} from "./store.ts";

export interface Restored {
  /** Uploaded items to index again once the server runs. */
  requeue: { instance: LiveInstance; item: ItemRecord }[];
  /** Item ids whose blobs the state refers to. */
  blobs: Set<string>;
}

export async function restoreCatalog(
  catalog: Catalog,
  corpus: Corpus,
  state: PersistedState | undefined,
  indexer: Indexer,
  warn: (message: string) => void,
): Promise<Restored> {
  const restored: Restored = { requeue: [], blobs: new Set() };
  const removed = state?.removed_corpus ?? { namespaces: [], instances: [] };
  for (const name of removed.namespaces) catalog.removedCorpus.namespaces.add(name);
  for (const key of removed.instances) catalog.removedCorpus.instances.add(key);

  const persistedNamespaces = new Map(state?.namespaces.map((ns) => [ns.name, ns]));
  for (const ns of corpus.namespaces.values()) {
    if (catalog.removedCorpus.namespaces.has(ns.name) && ns.name !== "default") continue;
    catalog.namespaces.set(ns.name, {
      name: ns.name,
      createdAt: ns.createdAt,
      fromCorpus: true,
      baseDescription: ns.description,
      overrides: persistedNamespaces.get(ns.name)?.overrides ?? {},
      instances: new Map(),
    });
  }
  for (const ns of state?.namespaces ?? []) {
    if (catalog.namespaces.has(ns.name)) continue;
    catalog.namespaces.set(ns.name, {
      name: ns.name,
      createdAt: ns.created_at,
      fromCorpus: ns.corpus,
      baseDescription: ns.base_description,
      overrides: ns.overrides,
      instances: new Map(),
    });
  }

  const corpusInstances = new Map<string, CorpusInstance>();
  for (const ns of corpus.namespaces.values()) {
    for (const instance of ns.instances.values()) {
      corpusInstances.set(`${ns.name}/${instance.id}`, instance);
    }
  }
  const claimed = new Set<string>();
  for (const persisted of state?.instances ?? []) {
    const namespace = catalog.namespaces.get(persisted.namespace);
    if (!namespace) {
      warn(`state: instance ${persisted.namespace}/${persisted.id} has no namespace; dropped`);
      continue;
    }
    if (persisted.corpus) claimed.add(persisted.corpus);
    const source = persisted.corpus ? corpusInstances.get(persisted.corpus) : undefined;
    const live = catalog.newInstance(
      persisted.id,
      persisted.namespace,
      source?.settings ?? {
        ...DEFAULT_INSTANCE_SETTINGS,
        createdAt: persisted.created_at,
        modifiedAt: persisted.created_at,
      },
      persisted.overrides,
      source && persisted.corpus ? { key: persisted.corpus, dir: source.dir } : undefined,
      persisted.modified_at,
    );
    if (source) addCorpusItems(live, source);
    await restoreItems(live, persisted, indexer, restored);
    for (const job of persisted.jobs) live.jobs.push(restoreJob(job));
    namespace.instances.set(live.id, live);
  }
  for (const [key, source] of corpusInstances) {
    if (claimed.has(key) || catalog.removedCorpus.instances.has(key)) continue;
    const namespace = catalog.namespaces.get(source.namespace);
    if (!namespace) continue; // its corpus namespace was deleted through the API
    const live = catalog.newInstance(
      source.id,
      source.namespace,
      source.settings,
      {},
      {
        key,
        dir: source.dir,
      },
    );
    addCorpusItems(live, source);
    namespace.instances.set(live.id, live);
  }
  return restored;
}

/** Corpus files become completed (or skipped) items, chunked with the instance's settings. */
function addCorpusItems(live: LiveInstance, source: CorpusInstance): void {
  // One "seen" time for the whole folder keeps listings sorted by key within a status.
  const seen = new Date().toISOString();
  const rechunk =
    live.settings.chunkSize !== source.settings.chunkSize ||
    live.settings.chunkOverlap !== source.settings.chunkOverlap;
  for (const file of source.files) {
    const item = corpusItem(live, source, file, seen);
    live.items.set(item.id, item);
    if (!file.document) continue;
    if (rechunk) {
      chunkDocument(
        file.document,
        live.id,
        corpusSeed(source.namespace, source.id, file.key),
        live.settings,
      );
    }
    live.setDocument(item, file.document);
  }
}

function corpusItem(
  live: LiveInstance,
  source: CorpusInstance,
  file: CorpusFile,
  seen: string,
): ItemRecord {
  const item: ItemRecord = {
    id: corpusItemId(corpusSeed(source.namespace, source.id, file.key)),
    key: file.key,
    sourceId: live.sourceId!,
    status: file.document ? "completed" : "skipped",
    nextAction: null,
    checksum: file.checksum,
    fileSize: file.sizeBytes,
    createdAt: new Date(file.mtimeMs).toISOString(),
    lastSeenAt: seen,
    activityMs: file.mtimeMs,
    sourceMtimeMs: file.mtimeMs,
    customMetadata: {},
    document: undefined,
    logs: [],
    generation: 0,
  };
  if (file.skipped === "unsupported_type") {
    item.error = "unsupported_type: the local AI Search indexes plain text types only";
  } else if (file.skipped === "over_size") {
    item.error = `over_size: ${file.sizeBytes} bytes exceeds the item size limit`;
  }
  return item;
}

async function restoreItems(
  live: LiveInstance,
  persisted: PersistedInstance,
  indexer: Indexer,
  restored: Restored,
): Promise<void> {
  for (const saved of persisted.items) {
    const item: ItemRecord = {
      id: saved.id,
      key: saved.key,
      sourceId: BUILTIN_SOURCE,
      status: saved.status,
      nextAction: null,
      checksum: saved.checksum,
      fileSize: saved.file_size,
      createdAt: saved.created_at,
      lastSeenAt: saved.last_seen_at,
      activityMs: saved.activity_ms,
      customMetadata: saved.custom_metadata,
      document: undefined,
      logs: saved.logs,
      generation: 0,
    };
    if (saved.error !== undefined) item.error = saved.error;
    live.items.set(item.id, item);
    restored.blobs.add(item.id);
    if (item.status === "completed") await indexer.restore(live, item);
    else if (item.status !== "error" && item.status !== "skipped") {
      restored.requeue.push({ instance: live, item });
    }
  }
}

/** A job that was running when the process stopped ended then. */
function restoreJob(saved: { job: Job; logs: JobRecord["logs"]; indexed: number; failed: number }) {
  const record: JobRecord = {
    ...saved,
    job: { ...saved.job },
    pending: new Set(),
    scanning: false,
  };
  if (!record.job.ended_at) {
    jobLog(record, JobLogType.warning, "the local AI Search stopped while this sync ran");
    record.job.ended_at = new Date().toISOString();
    record.job.end_reason = "interrupted";
  }
  return record;
}

export function snapshotCatalog(catalog: Catalog): PersistedState {
  const namespaces = [...catalog.namespaces.values()];
  return {
    version: STATE_VERSION,
    namespaces: namespaces.map((ns: NamespaceRecord) => ({
      name: ns.name,
      created_at: ns.createdAt,
      corpus: ns.fromCorpus,
      base_description: ns.baseDescription,
      overrides: ns.overrides,
    })),
    instances: namespaces.flatMap((ns) =>
      [...ns.instances.values()].map((live) => {
        const persisted: PersistedInstance = {
          id: live.id,
          namespace: live.namespace,
          created_at: live.createdAt,
          modified_at: live.modifiedAt,
          overrides: live.overrides,
          items: [...live.items.values()]
            .filter((item) => item.sourceId === BUILTIN_SOURCE)
            .map(persistItem),
          jobs: live.jobs.map(({ job, logs, indexed, failed }) => ({ job, logs, indexed, failed })),
        };
        if (live.corpus) persisted.corpus = live.corpus.key;
        return persisted;
      }),
    ),
    removed_corpus: {
      namespaces: [...catalog.removedCorpus.namespaces],
      instances: [...catalog.removedCorpus.instances],
    },
  };
}

function persistItem(item: ItemRecord): PersistedItem {
  const persisted: PersistedItem = {
    id: item.id,
    key: item.key,
    status: item.status,
    checksum: item.checksum,
    file_size: item.fileSize,
    created_at: item.createdAt,
    last_seen_at: item.lastSeenAt,
    activity_ms: item.activityMs,
    custom_metadata: item.customMetadata,
    logs: item.logs,
  };
  if (item.error !== undefined) persisted.error = item.error;
  return persisted;
}
