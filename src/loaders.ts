import DataLoader from "dataloader";
import type { BoundAiSearchClient } from "./upstream/client.ts";
import { UpstreamError } from "./upstream/errors.ts";
import type { Item, Job } from "./upstream/management-types.ts";
import type { Instance, InstanceStats, Namespace } from "./upstream/types.ts";

/** An instance as the graph sees it: always knows the namespace it was read from. */
export type InstanceRecord = Instance & { namespace: string };
/** An item or a job as the graph sees it: knows the instance it belongs to. */
export type ItemRecord = Item & { namespace: string; instanceId: string };
export type JobRecord = Job & { namespace: string; instanceId: string };

export interface InstanceKey {
  namespace: string;
  id: string;
}

/** An item or a job of an instance, by its upstream id (`key`: an item by its key). */
export interface RecordKey {
  namespace: string;
  instanceId: string;
  id: string;
}

export interface Loaders {
  namespace: DataLoader<string, Namespace | null>;
  instance: DataLoader<InstanceKey, InstanceRecord | null, string>;
  instanceStats: DataLoader<InstanceKey, InstanceStats | null, string>;
  item: DataLoader<RecordKey, ItemRecord | null, string>;
  itemByKey: DataLoader<RecordKey, ItemRecord | null, string>;
  job: DataLoader<RecordKey, JobRecord | null, string>;
}

/** The largest page the upstream serves; fewer round trips when a namespace is listed whole. */
const LIST_PAGE_SIZE = 100;
/** A namespace listing stops here, so a misbehaving upstream cannot keep a request paging forever. */
const MAX_LIST_PAGES = 50;

const instanceCacheKey = (key: InstanceKey) => `${key.namespace}/${key.id}`;
const recordCacheKey = (key: RecordKey) => `${key.namespace}/${key.instanceId}/${key.id}`;

function isNotFound(error: unknown): boolean {
  return error instanceof UpstreamError && error.status === 404;
}

/** A failed read as a batch entry: not found is `null`, anything else that key's error. */
const notFoundAsNull = (error: unknown): null | Error =>
  isNotFound(error) ? null : (error as Error);

/** Told the size of every batch a loader sends, e.g. for a metric. */
export type LoaderBatchObserver = (loader: keyof Loaders, size: number) => void;

/**
 * Per-operation loaders over the operation's bound client. Created with the context, so their
 * caches live exactly as long as one operation and never mix callers (who may carry different
 * upstream credentials). Each loader is made on its first use: most operations (a chat
 * completion, a stream) use none, and six loaders per operation were six maps and closures
 * for the garbage collector.
 */
export function createLoaders(
  upstream: BoundAiSearchClient,
  onBatch?: LoaderBatchObserver,
): Loaders {
  return new OperationLoaders(upstream, onBatch);
}

/** Keys and cache keys of the item-like loaders: one read per distinct key (no batch endpoint). */
type RecordLoader<V> = DataLoader<RecordKey, V | null, string>;

class OperationLoaders implements Loaders {
  readonly #upstream: BoundAiSearchClient;
  readonly #onBatch: LoaderBatchObserver | undefined;
  // One listing per namespace per operation, however many batches ask for instances of it.
  #listings: Map<string, Promise<Map<string, InstanceRecord> | null>> | undefined;
  #namespace: Loaders["namespace"] | undefined;
  #instance: Loaders["instance"] | undefined;
  #instanceStats: Loaders["instanceStats"] | undefined;
  #item: Loaders["item"] | undefined;
  #itemByKey: Loaders["itemByKey"] | undefined;
  #job: Loaders["job"] | undefined;

  constructor(upstream: BoundAiSearchClient, onBatch: LoaderBatchObserver | undefined) {
    this.#upstream = upstream;
    this.#onBatch = onBatch;
  }

  #loader<K, V, C = K>(
    name: keyof Loaders,
    batch: DataLoader.BatchLoadFn<K, V>,
    options?: DataLoader.Options<K, V, C>,
  ): DataLoader<K, V, C> {
    const onBatch = this.#onBatch;
    const observed: DataLoader.BatchLoadFn<K, V> = (keys) => {
      onBatch?.(name, keys.length);
      return batch(keys);
    };
    return new DataLoader<K, V, C>(observed, options);
  }

  #listNamespace(namespace: string) {
    this.#listings ??= new Map();
    let listing = this.#listings.get(namespace);
    if (!listing) {
      listing = listAllInstances(this.#upstream, namespace);
      this.#listings.set(namespace, listing);
    }
    return listing;
  }

  get instance(): Loaders["instance"] {
    this.#instance ??= this.#loader<InstanceKey, InstanceRecord | null, string>(
      "instance",
      async (keys) => {
        const byNamespace = new Map<string, Promise<Map<string, InstanceRecord> | null>>();
        for (const key of keys) byNamespace.set(key.namespace, this.#listNamespace(key.namespace));
        const settled = new Map<string, Map<string, InstanceRecord> | null | Error>();
        await Promise.all(
          [...byNamespace].map(async ([namespace, listing]) => {
            settled.set(namespace, await listing.catch((error: Error) => error));
          }),
        );
        return keys.map((key) => {
          const found = settled.get(key.namespace);
          if (found instanceof Error) return found;
          return found?.get(key.id) ?? null;
        });
      },
      { cacheKeyFn: instanceCacheKey },
    );
    return this.#instance;
  }

  get namespace(): Loaders["namespace"] {
    const upstream = this.#upstream;
    this.#namespace ??= this.#loader<string, Namespace | null>("namespace", (names) =>
      Promise.all(names.map((name) => upstream.getNamespace(name).catch(notFoundAsNull))),
    );
    return this.#namespace;
  }

  get instanceStats(): Loaders["instanceStats"] {
    const upstream = this.#upstream;
    this.#instanceStats ??= this.#loader<InstanceKey, InstanceStats | null, string>(
      "instanceStats",
      (keys) =>
        Promise.all(
          keys.map((key) => upstream.getInstanceStats(key.namespace, key.id).catch(notFoundAsNull)),
        ),
      { cacheKeyFn: instanceCacheKey },
    );
    return this.#instanceStats;
  }

  /**
   * Items and jobs have no batch endpoint: a batch is one read per distinct key, sent together,
   * and identical reads in flight are shared by the client's coalescing anyway.
   */
  #perKey<V>(
    name: "item" | "itemByKey" | "job",
    read: (key: RecordKey) => Promise<V | null>,
  ): RecordLoader<V> {
    return this.#loader<RecordKey, V | null, string>(
      name,
      (keys) => Promise.all(keys.map((key) => read(key).catch(notFoundAsNull))),
      { cacheKeyFn: recordCacheKey },
    );
  }

  get item(): Loaders["item"] {
    const upstream = this.#upstream;
    this.#item ??= this.#perKey<ItemRecord>("item", async (key) =>
      owned(key, await upstream.getItem(key.namespace, key.instanceId, key.id)),
    );
    return this.#item;
  }

  get itemByKey(): Loaders["itemByKey"] {
    const upstream = this.#upstream;
    this.#itemByKey ??= this.#perKey<ItemRecord>("itemByKey", async (key) => {
      const page = await upstream.listItems(key.namespace, key.instanceId, {
        key: key.id,
        perPage: 1,
      });
      const found = page.items[0];
      return found ? owned(key, found) : null;
    });
    return this.#itemByKey;
  }

  get job(): Loaders["job"] {
    const upstream = this.#upstream;
    this.#job ??= this.#perKey<JobRecord>("job", async (key) =>
      owned(key, await upstream.getJob(key.namespace, key.instanceId, key.id)),
    );
    return this.#job;
  }
}

/** A record read by `key`, with the namespace and instance it was read under. */
const owned = <T>(key: RecordKey, value: T) => ({
  ...value,
  namespace: key.namespace,
  instanceId: key.instanceId,
});

async function listAllInstances(
  upstream: BoundAiSearchClient,
  namespace: string,
): Promise<Map<string, InstanceRecord> | null> {
  const found = new Map<string, InstanceRecord>();
  try {
    for (let page = 1; page <= MAX_LIST_PAGES; page++) {
      const result = await upstream.listInstances(namespace, { page, perPage: LIST_PAGE_SIZE });
      for (const item of result.items) found.set(item.id, { ...item, namespace });
      const seen = (page - 1) * LIST_PAGE_SIZE + result.items.length;
      const total = result.totalCount ?? Number.POSITIVE_INFINITY;
      if (result.items.length < LIST_PAGE_SIZE || seen >= total) break;
    }
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  return found;
}

/** Instances that arrive in a listing are remembered, so later lookups in the operation are free. */
export function primeInstances(loaders: Loaders, instances: readonly InstanceRecord[]): void {
  for (const record of instances) {
    loaders.instance.prime({ namespace: record.namespace, id: record.id }, record);
  }
}
