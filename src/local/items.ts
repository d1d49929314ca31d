/**
 * The items of an instance (`.../instances/{id}/items[...]`): list, upload (multipart),
 * create-or-update by key, get, sync one, delete, and an item's chunks, logs and raw content.
 * Items are addressed by id; keys are the file names (folders allowed).
 *
 * Uploaded items (`source_id: "builtin"`) live in the data directory and can be deleted and
 * downloaded. Corpus files are an external source, as an R2 bucket is upstream: they are listed,
 * synced and searchable, but changed only by editing the corpus folder and running a sync job.
 */

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import type { ItemChunk, ItemDeleteResult, ItemStatus } from "../upstream/management-types.ts";
import { BUILTIN_SOURCE, type ItemRecord, type LiveInstance, paginate, toItem } from "./catalog.ts";
import {
  parseBody,
  parseQuery,
  type RequestContext,
  requireInstance,
  requireItem,
} from "./context.ts";
import { contentTypeOf, MAX_KEY_LENGTH } from "./documents.ts";
import { compileFilter, FilterError } from "./filters.ts";
import { ApiError, ErrorCode, sendResult, writeHead } from "./http.ts";
import { itemLog, newCorpusItem } from "./records.ts";
import { positiveInt } from "./schemas.ts";

const STATUSES = ["queued", "running", "completed", "error", "skipped", "outdated"] as const;
/** `sort_by=status`: work in progress first, then what needs attention, then the rest. */
const STATUS_ORDER: Record<ItemStatus, number> = {
  running: 0,
  queued: 1,
  outdated: 2,
  error: 3,
  skipped: 4,
  completed: 5,
};

const itemListQuery = z.object({
  page: positiveInt("page", 1_000_000),
  per_page: positiveInt("per_page", 50),
  status: z.enum(STATUSES).optional(),
  search: z.string().max(256).optional(),
  key: z.string().max(1024).optional(),
  item_id: z.string().max(128).optional(),
  source: z.string().max(1024).optional(),
  sort_by: z.enum(["status", "modified_at"]).optional(),
  metadata_filter: z.string().max(10_000).optional(),
});

const pageQuery = z.object({
  limit: positiveInt("limit", 100),
  offset: z.string().regex(/^\d+$/, "offset must be a whole number").transform(Number).optional(),
  cursor: z.string().regex(/^\d+$/, "cursor must come from a previous page").optional(),
});

const indexRequest = {
  next_action: z.literal("INDEX", { error: 'next_action must be "INDEX"' }),
  wait_for_completion: z.boolean().optional(),
};
const syncBody = z.object(indexRequest, { error: "the request body must be a JSON object" });
const createOrUpdateBody = z.object(
  { key: z.string({ error: "key is required" }), ...indexRequest },
  { error: "the request body must be a JSON object" },
);

export function listItems(ctx: RequestContext): void {
  const { instance } = requireInstance(ctx);
  const query = parseQuery(itemListQuery, ctx.query);
  const accept = metadataFilter(query.metadata_filter);
  const needle = query.search?.toLowerCase();
  const items = [...instance.items.values()]
    .filter(
      (item) =>
        (!query.status || item.status === query.status) &&
        (!query.key || item.key === query.key) &&
        (!query.item_id || item.id === query.item_id) &&
        (!query.source || item.sourceId === query.source) &&
        (!needle || item.key.toLowerCase().includes(needle)) &&
        accept(item),
    )
    .sort(
      query.sort_by === "modified_at"
        ? (a, b) => b.activityMs - a.activityMs || a.key.localeCompare(b.key)
        : (a, b) =>
            STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
            b.lastSeenAt.localeCompare(a.lastSeenAt) ||
            a.key.localeCompare(b.key),
    );
  const page = paginate(items, query.page, query.per_page);
  sendResult(
    ctx.res,
    page.items.map((item) => toItem(instance, item)),
    page.info,
  );
}

/** `metadata_filter` in the filter syntax search takes, applied to item metadata. */
function metadataFilter(json: string | undefined): (item: ItemRecord) => boolean {
  if (json === undefined) return () => true;
  let filter: unknown;
  try {
    filter = JSON.parse(json);
  } catch {
    throw new ApiError(
      400,
      ErrorCode.invalidRequest,
      "invalid_metadata_filter: metadata_filter is not valid JSON",
    );
  }
  try {
    const accept = compileFilter(filter, "metadata_filter");
    return (item) =>
      accept({
        document: item.document ?? {
          key: item.key,
          timestamp: Math.floor(item.activityMs / 1000),
          metadata: item.customMetadata,
        },
      });
  } catch (error) {
    if (!(error instanceof FilterError)) throw error;
    throw new ApiError(400, ErrorCode.invalidRequest, `invalid_metadata_filter: ${error.message}`);
  }
}

export function getItem(ctx: RequestContext): void {
  const { instance, item } = requireItem(ctx);
  sendResult(ctx.res, toItem(instance, item));
}

/** `PUT .../items`: (re)index the item with this key, or the corpus file of that name. */
export async function createOrUpdateItem(ctx: RequestContext): Promise<void> {
  const { instance } = requireInstance(ctx);
  const body = parseBody(createOrUpdateBody, ctx);
  checkKey(body.key);
  let item = instance.findByKey(body.key, BUILTIN_SOURCE) ?? instance.findByKey(body.key);
  if (!item && instance.corpus) {
    const info = await stat(path.join(instance.corpus.dir, body.key)).catch(() => undefined);
    if (info?.isFile()) {
      item = newCorpusItem(instance, body.key, info.mtimeMs, info.size);
      instance.items.set(item.id, item);
    }
  }
  if (!item) {
    throw new ApiError(
      404,
      ErrorCode.itemNotFound,
      `item_not_found: instance "${instance.id}" has no item or source file "${body.key}"`,
    );
  }
  await reindex(ctx, instance, item, body.wait_for_completion);
}

/** `PATCH .../items/{id}`: index this one item again. */
export async function syncItem(ctx: RequestContext): Promise<void> {
  const { instance, item } = requireItem(ctx);
  const body = parseBody(syncBody, ctx);
  await reindex(ctx, instance, item, body.wait_for_completion);
}

async function reindex(
  ctx: RequestContext,
  instance: LiveInstance,
  item: ItemRecord,
  wait: boolean | undefined,
): Promise<void> {
  itemLog(item, "index", "sync requested");
  ctx.services.indexer.enqueue(instance, item);
  const accepted = toItem(instance, item);
  await ctx.services.persist();
  if (!wait) {
    sendResult(ctx.res, accepted);
    return;
  }
  await settle(ctx, item);
  sendResult(ctx.res, toItem(instance, item));
}

export function settle(ctx: RequestContext, item: ItemRecord): Promise<void> {
  return ctx.services.indexer.settled(item, ctx.services.waitForCompletionMs, ctx.signal);
}

export async function deleteItem(ctx: RequestContext): Promise<void> {
  const { instance, item } = requireItem(ctx);
  requireUploaded(item, "deleted");
  instance.setDocument(item, undefined);
  instance.items.delete(item.id);
  ctx.services.indexer.forget(instance, item);
  await ctx.services.persist();
  // After the state that no longer names it: a crash in between leaves an orphan, removed on start.
  await ctx.services.store.removeBlob(item.id);
  const result: ItemDeleteResult = { key: item.key };
  sendResult(ctx.res, result);
}

export function itemChunks(ctx: RequestContext): void {
  const { item } = requireItem(ctx);
  const query = parseQuery(pageQuery, ctx.query);
  const document = item.document;
  const chunks: ItemChunk[] = (document?.chunks ?? []).map((chunk) => ({
    id: chunk.id,
    text: chunk.text,
    start_byte:
      document!.bodyOffsetBytes + Buffer.byteLength(document!.body.slice(0, chunk.startChar)),
    end_byte: document!.bodyOffsetBytes + Buffer.byteLength(document!.body.slice(0, chunk.endChar)),
    item: { key: item.key, metadata: { ...document!.metadata }, timestamp: document!.timestamp },
  }));
  const offset = query.offset ?? 0;
  sendResult(ctx.res, chunks.slice(offset, offset + (query.limit ?? 20)));
}

/** Newest first; `cursor` is the offset a previous page ended at. */
export function itemLogs(ctx: RequestContext): void {
  const { item } = requireItem(ctx);
  const query = parseQuery(pageQuery, ctx.query);
  const start = Number(query.cursor ?? 0);
  sendResult(ctx.res, [...item.logs].reverse().slice(start, start + (query.limit ?? 20)));
}

export async function downloadItem(ctx: RequestContext): Promise<void> {
  const { item } = requireItem(ctx);
  if (item.sourceId !== BUILTIN_SOURCE) {
    throw new ApiError(
      400,
      ErrorCode.externalDownload,
      `content_download_not_available_for_external_source_items: "${item.key}" comes from the corpus folder`,
    );
  }
  const file = await ctx.services.store.blobPath(item.id);
  const info = await stat(file);
  const name = path.posix.basename(item.key).replace(/[^\w.-]/g, "_");
  writeHead(ctx.res, 200, {
    "content-type": contentTypeOf(item.key),
    "content-length": info.size,
    "content-disposition": `attachment; filename="${name}"`,
  });
  if (ctx.req.method === "HEAD") {
    ctx.res.end();
    return;
  }
  await pipeline(createReadStream(file), ctx.res);
}

function requireUploaded(item: ItemRecord, verb: string): void {
  if (item.sourceId === BUILTIN_SOURCE) return;
  throw new ApiError(
    400,
    ErrorCode.managedOnly,
    `this_operation_requires_a_managed_instance: "${item.key}" comes from the corpus folder ` +
      `(an external source) and cannot be ${verb} here; change the folder and start a sync job`,
  );
}

export function refuseDuplicate(instance: LiveInstance, key: string): void {
  if (!instance.findByKey(key, BUILTIN_SOURCE)) return;
  throw new ApiError(
    409,
    ErrorCode.itemKeyExists,
    `item_key_already_exist: instance "${instance.id}" already has an uploaded item "${key}"`,
  );
}

/** Item keys are relative `/`-separated paths of at most 128 characters. */
export function checkKey(key: string): void {
  if (key.length > MAX_KEY_LENGTH) {
    throw new ApiError(
      400,
      ErrorCode.filenameTooLong,
      `filename_exceeds_maximum_length: the key has ${key.length} characters; at most ${MAX_KEY_LENGTH}`,
    );
  }
  const segments = key.split("/");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  const bad = /[\u0000-\u001f\u007f\\]/;
  if (
    key.length === 0 ||
    bad.test(key) ||
    segments.some((segment) => segment === "" || segment === "." || segment === "..")
  ) {
    throw new ApiError(
      400,
      ErrorCode.invalidRequest,
      `invalid_request: "${key}" is not a valid item key (a relative path such as "guides/setup.md")`,
    );
  }
}
