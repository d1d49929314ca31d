import { resolveOffsetConnection } from "@pothos/plugin-relay";
import { builder } from "../builder.ts";
import { badUserInput } from "../graphql-errors.ts";
import type { ItemRecord } from "../loaders.ts";
import { ITEM_STATUSES, MAX_ITEMS_PER_PAGE } from "../upstream/items.ts";
import type { ItemChunk, ItemLog } from "../upstream/management-types.ts";
import { MAX_ITEM_KEY_LENGTH, RECORD_ID_PATTERN } from "../upstream/names.ts";
import { recordLocalId } from "./global-ids.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { connectionWithTotalCount, resolvePagedConnection } from "./pagination.ts";
import { InstanceRef } from "./refs.ts";

/*
 * Items: the files of an instance. The graph names them by key (`Instance.item(key:)`, the
 * mutations' `key`); the upstream addresses them by id, which `itemId` and the global `id` carry.
 */

export const ItemStatus = builder.enumType("ItemStatus", {
  description: "Where an item is in indexing.",
  values: {
    QUEUED: { value: "queued", description: "Waiting to be indexed." },
    RUNNING: { value: "running", description: "Being indexed now." },
    COMPLETED: { value: "completed", description: "Indexed and searchable." },
    ERROR: { value: "error", description: "Indexing failed; see `error` and `logs`." },
    SKIPPED: { value: "skipped", description: "Not indexed (unsupported or too large)." },
    OUTDATED: { value: "outdated", description: "Changed since indexed; will be again." },
  } as const,
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const KEY_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f"\\]/;
const UPLOAD_KEY = /^[\x20-\x7e]+$/;

/** An item key as the upstream takes it; `upload` also keeps it printable ASCII (a part header). */
export function validateItemKey(key: string, field = "key", upload = false): string {
  const segments = key.split("/");
  if (
    key.length === 0 ||
    key.length > MAX_ITEM_KEY_LENGTH ||
    KEY_FORBIDDEN.test(key) ||
    segments.some((part) => part === "" || part === "." || part === "..") ||
    (upload && !UPLOAD_KEY.test(key))
  ) {
    throw badUserInput(
      `\`${field}\` must be a relative path of 1 to ${MAX_ITEM_KEY_LENGTH} ${upload ? "printable ASCII " : ""}characters such as "guides/setup.md" (no empty, "." or ".." segments, quotes or backslashes)`,
      field,
    );
  }
  return key;
}

/** `namespace/instance/item`: every part checked, as for any client input. */
export function parseRecordGlobalId(localId: string): {
  namespace: string;
  instanceId: string;
  id: string;
} {
  const [namespace = "", instanceId = "", id = "", ...rest] = localId.split("/");
  if (rest.length > 0 || !RECORD_ID_PATTERN.test(id)) throw badUserInput("malformed id", "id");
  return {
    namespace: validateNamespace(namespace),
    instanceId: validateInstanceId(instanceId),
    id,
  };
}

const ItemChunkRef = builder.objectRef<ItemChunk>("ItemChunk").implement({
  description: "A piece of an item's text, as it was indexed.",
  fields: (t) => ({
    chunkId: t.exposeString("id", { description: "The chunk's upstream id." }),
    text: t.exposeString("text", { description: "The chunk's text." }),
    startByte: t.exposeInt("start_byte", {
      nullable: true,
      description: "Where it starts in the file, in bytes.",
    }),
    endByte: t.exposeInt("end_byte", {
      nullable: true,
      description: "Where it ends in the file, in bytes.",
    }),
  }),
});

const ItemLogRef = builder.objectRef<ItemLog>("ItemLog").implement({
  description: "One step of an item's processing, as the upstream logged it.",
  fields: (t) => ({
    action: t.exposeString("action", { description: "What was done, e.g. `upload` or `index`." }),
    message: t.exposeString("message", { nullable: true, description: "What happened." }),
    errorType: t.exposeString("errorType", {
      nullable: true,
      description: "Set when it failed, e.g. `file_content_empty`.",
    }),
    chunkCount: t.exposeInt("chunkCount", { nullable: true, description: "Chunks it made." }),
    processingTimeMs: t.exposeFloat("processingTimeMs", {
      nullable: true,
      description: "How long it took.",
    }),
    timestamp: t.expose("timestamp", { type: "DateTime", description: "When." }),
  }),
});

export const ItemRef = builder.objectRef<ItemRecord>("Item");

builder.node(ItemRef, {
  description: "A file of an instance, with where it is in indexing.",
  id: { resolve: recordLocalId },
  loadOne: (localId, context) => context.loaders.item.load(parseRecordGlobalId(localId)),
  fields: (t) => ({
    itemId: t.exposeString("id", { description: "The item's upstream id." }),
    key: t.exposeString("key", { description: "Its key: the file name, folders included." }),
    status: t.field({
      type: ItemStatus,
      nullable: true,
      description: "Where it is in indexing (null for a status this gateway does not know).",
      resolve: (item) => (ITEM_STATUSES.includes(item.status) ? item.status : null),
    }),
    error: t.exposeString("error", {
      nullable: true,
      description: "Why indexing failed or skipped it, `type: detail` (the upstream's words).",
    }),
    checksum: t.exposeString("checksum", { nullable: true, description: "Digest of its bytes." }),
    chunksCount: t.exposeInt("chunks_count", { nullable: true, description: "Chunks indexed." }),
    fileSize: t.exposeInt("file_size", { nullable: true, description: "Size in bytes." }),
    createdAt: t.expose("created_at", { type: "DateTime", description: "When it was added." }),
    lastSeenAt: t.expose("last_seen_at", {
      type: "DateTime",
      description: "When indexing last looked at it.",
    }),
    metadata: t.expose("metadata", {
      type: "JSON",
      nullable: true,
      description: "Built-in and custom metadata.",
    }),
    sourceId: t.exposeString("source_id", {
      nullable: true,
      description: "`builtin` for uploads, `{type}:{source}` for an external source.",
    }),
    instance: t.field({
      type: InstanceRef,
      nullable: true,
      description: "The instance it belongs to.",
      resolve: (item, _args, context) =>
        context.loaders.instance.load({ namespace: item.namespace, id: item.instanceId }),
    }),
    chunks: t.connection({
      type: ItemChunkRef,
      description: "Its chunks, in order (one upstream call per page).",
      resolve: (item, args, context) =>
        resolveOffsetConnection({ args, defaultSize: 20, maxSize: 100 }, ({ offset, limit }) =>
          context.upstream.listItemChunks(item.namespace, item.instanceId, item.id, {
            limit,
            offset,
          }),
        ),
    }),
    logs: t.field({
      type: [ItemLogRef],
      description: "Its processing log, newest first.",
      args: {
        first: t.arg.int({ defaultValue: 20, description: "How many entries (1–100)." }),
      },
      resolve: (item, args, context) => {
        const limit = args.first ?? 20;
        if (limit < 1 || limit > 100) throw badUserInput("`first` must be 1 to 100", "first");
        return context.upstream.listItemLogs(item.namespace, item.instanceId, item.id, { limit });
      },
    }),
  }),
});

builder.objectFields(InstanceRef, (t) => ({
  items: t.connection(
    {
      type: ItemRef,
      description: "The instance's items, work in progress first (the upstream's order).",
      args: {
        status: t.arg({ type: ItemStatus, description: "Only items in this status." }),
        search: t.arg.string({ description: "Only items whose key contains this." }),
      },
      resolve: async (instance, args, context) => {
        if (args.search != null && args.search.length > 256) {
          throw badUserInput("`search` may have at most 256 characters", "search");
        }
        const namespace = instance.namespace;
        const connection = await resolvePagedConnection(
          args,
          async (page, perPage) => {
            const result = await context.upstream.listItems(namespace, instance.id, {
              page,
              perPage,
              ...(args.status != null && { status: args.status }),
              ...(args.search != null && { search: args.search }),
            });
            return {
              ...result,
              items: result.items.map((item) => ({ ...item, namespace, instanceId: instance.id })),
            };
          },
          MAX_ITEMS_PER_PAGE,
        );
        for (const { node } of connection.edges) {
          context.loaders.item.prime({ namespace, instanceId: instance.id, id: node.id }, node);
        }
        return connection;
      },
    },
    connectionWithTotalCount("items"),
  ),
  item: t.field({
    type: ItemRef,
    nullable: true,
    description: "One item by key; null when there is none.",
    args: { key: t.arg.string({ required: true, description: "The item's key." }) },
    resolve: (instance, args, context) =>
      context.loaders.itemByKey.load({
        namespace: instance.namespace,
        instanceId: instance.id,
        id: validateItemKey(args.key),
      }),
  }),
}));
