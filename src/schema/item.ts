import { encodeGlobalID, resolveOffsetConnection } from "@pothos/plugin-relay";
import { GraphQLError } from "graphql";
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import { ErrorCode } from "../error-codes.ts";
import { badUserInput, notFound } from "../graphql-errors.ts";
import type { ItemRecord } from "../loaders.ts";
import { UploadError, type UploadedFile } from "../uploads/file.ts";
import { ITEM_STATUSES, MAX_ITEMS_PER_PAGE } from "../upstream/items.ts";
import { MAX_ITEM_KEY_LENGTH, RECORD_ID_PATTERN } from "../upstream/names.ts";
import type { ItemChunk, ItemLog, ItemUploadWarning } from "../upstream/types.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { connectionWithTotalCount, resolvePagedConnection } from "./pagination.ts";
import { InstanceRef } from "./refs.ts";
import { type UserErrorRecord, UserErrorRef, withUserErrors } from "./user-errors.ts";

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
  id: { resolve: (item) => `${item.namespace}/${item.instanceId}/${item.id}` },
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

/** The item with this key, for the mutations that name items by key. */
async function itemByKey(
  context: Context,
  namespace: string,
  instanceId: string,
  key: string,
): Promise<ItemRecord> {
  const item = await context.loaders.itemByKey.load({ namespace, instanceId, id: key });
  if (!item) throw notFound(`instance "${instanceId}" has no item "${key}"`);
  return item;
}

const MAX_METADATA_FIELDS = 32;
const MAX_METADATA_TEXT = 1024;

function validateMetadata(value: unknown): Record<string, string | number | boolean> | undefined {
  if (value == null) return undefined;
  const wrong = () =>
    badUserInput(
      `\`metadata\` must be an object of at most ${MAX_METADATA_FIELDS} string, number or boolean values`,
      "metadata",
    );
  if (typeof value !== "object" || Array.isArray(value)) throw wrong();
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_METADATA_FIELDS) throw wrong();
  for (const [name, field] of entries) {
    const ok =
      name.length <= 64 &&
      (typeof field === "number"
        ? Number.isFinite(field)
        : typeof field === "boolean" ||
          (typeof field === "string" && field.length <= MAX_METADATA_TEXT));
    if (!ok) throw wrong();
  }
  return value as Record<string, string | number | boolean>;
}

const uploadFailure = (error: UploadError) =>
  error.reason === "too-large"
    ? new GraphQLError(error.message, {
        extensions: { code: ErrorCode.REQUEST_ENTITY_TOO_LARGE, http: { status: 413 } },
      })
    : badUserInput(error.message, "file");

/**
 * The file's bytes, or undefined when it has none: the first bytes are read before anything
 * goes upstream, so an empty file costs no request. Leaving early discards the rest.
 */
async function nonEmpty(
  body: AsyncIterable<Uint8Array>,
): Promise<
  { body: AsyncIterable<Uint8Array>; failure: () => UploadError | undefined } | undefined
> {
  const iterator = body[Symbol.asyncIterator]();
  let first: Uint8Array | undefined;
  while (!first) {
    const next = await iterator.next();
    if (next.done) return undefined;
    if (next.value.byteLength > 0) first = next.value;
  }
  let failure: UploadError | undefined;
  async function* rest(head: Uint8Array): AsyncGenerator<Uint8Array> {
    try {
      yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } catch (error) {
      // Kept: undici may report a failed request body as its own error.
      if (error instanceof UploadError) failure = error;
      throw error;
    } finally {
      await iterator.return?.();
    }
  }
  return { body: rest(first), failure: () => failure };
}

async function openUpload(file: UploadedFile) {
  try {
    const opened = await file.open();
    return { ...opened, content: await nonEmpty(opened.body) };
  } catch (error) {
    if (error instanceof UploadError) throw uploadFailure(error);
    throw error;
  }
}

const UploadItemInput = builder.inputType("UploadItemInput", {
  description: "A file to upload as an item (send the request as multipart).",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "The instance's namespace." }),
    instanceId: t.string({ required: true, description: "The instance to upload to." }),
    file: t.field({ type: "File", required: true, description: "The file." }),
    key: t.string({
      description: "The item key; @default the file's name. Printable ASCII, at most 128.",
    }),
    metadata: t.field({
      type: "JSON",
      description: "Custom metadata: an object of string, number or boolean values.",
    }),
    waitForCompletion: t.boolean({
      defaultValue: false,
      description: "Answer once indexed (the upstream waits up to about 40 s).",
    }),
  }),
});

const ItemUploadWarningRef = builder.objectRef<ItemUploadWarning>("ItemUploadWarning").implement({
  description: "Metadata the upstream kept but cannot filter or index as sent.",
  fields: (t) => ({
    code: t.exposeString("code", {
      description: "`custom_metadata_value_not_indexed` or `custom_metadata_field_not_filterable`.",
    }),
    field: t.exposeString("field", { description: "The metadata field." }),
  }),
});

interface ItemPayload {
  item?: ItemRecord;
  warnings?: ItemUploadWarning[];
  userErrors: UserErrorRecord[];
}

const UploadItemPayload = builder.objectRef<ItemPayload>("UploadItemPayload").implement({
  description: "The item uploaded, or why not: NAME_TAKEN (the key), FILE_TOO_LARGE.",
  fields: (t) => ({
    item: t.expose("item", { type: ItemRef, nullable: true, description: "The new item." }),
    warnings: t.field({
      type: [ItemUploadWarningRef],
      description: "Metadata the upstream could not use as sent.",
      resolve: (p) => p.warnings ?? [],
    }),
    userErrors: t.expose("userErrors", {
      type: [UserErrorRef],
      description: "Why it was refused.",
    }),
  }),
});

const SyncItemPayload = builder.objectRef<ItemPayload>("SyncItemPayload").implement({
  description: "The item queued for indexing again.",
  fields: (t) => ({
    item: t.expose("item", { type: ItemRef, nullable: true, description: "The item now." }),
    userErrors: t.expose("userErrors", {
      type: [UserErrorRef],
      description: "Why it was refused.",
    }),
  }),
});

const DeleteItemPayload = builder.objectRef<ItemPayload>("DeleteItemPayload").implement({
  description: "The item deleted, with its chunks.",
  fields: (t) => ({
    deletedItemId: t.id({
      nullable: true,
      description: "The global id it had, to drop it from client caches.",
      resolve: (p) =>
        p.item
          ? encodeGlobalID("Item", `${p.item.namespace}/${p.item.instanceId}/${p.item.id}`)
          : null,
    }),
    key: t.string({ nullable: true, description: "Its key.", resolve: (p) => p.item?.key ?? null }),
    userErrors: t.expose("userErrors", {
      type: [UserErrorRef],
      description: "Why it was refused.",
    }),
  }),
});

const itemTarget = (input: { namespace?: string | null; instanceId: string }) => ({
  namespace: validateNamespace(input.namespace),
  instanceId: validateInstanceId(input.instanceId, "instanceId"),
});

const DeleteItemInput = builder.inputType("DeleteItemInput", {
  description: "The item to delete, by key.",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "The instance's namespace." }),
    instanceId: t.string({ required: true, description: "The instance." }),
    key: t.string({ required: true, description: "The item's key." }),
  }),
});

const SyncItemInput = builder.inputType("SyncItemInput", {
  description: "The item to index again, by key.",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "The instance's namespace." }),
    instanceId: t.string({ required: true, description: "The instance." }),
    key: t.string({ required: true, description: "The item's key." }),
    waitForCompletion: t.boolean({
      defaultValue: false,
      description: "Answer once indexed (the upstream waits up to about 40 s).",
    }),
  }),
});

builder.mutationFields((t) => ({
  uploadItem: t.field({
    type: UploadItemPayload,
    description:
      "Uploads a file as an item of an instance with managed storage, streamed to the upstream as it arrives. Send it with the GraphQL multipart request spec (browsers: with a `graphql-require-preflight` header). Needs `admin`.",
    args: { input: t.arg({ type: UploadItemInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const { namespace, instanceId } = itemTarget(input);
      const metadata = validateMetadata(input.metadata);
      if (input.key != null) validateItemKey(input.key, "key", true);
      const file = await openUpload(input.file);
      const key = validateItemKey(input.key ?? file.name, input.key == null ? "file" : "key", true);
      if (!file.content) throw badUserInput("The file is empty.", "file");
      const { body, failure } = file.content;
      return withUserErrors(async () => {
        try {
          const uploaded = await context.upstream.uploadItem(namespace, instanceId, {
            key,
            file: { body, contentType: file.type },
            metadata,
            waitForCompletion: input.waitForCompletion ?? false,
          });
          const { warnings, ...item } = uploaded;
          return { item: { ...item, namespace, instanceId }, warnings: warnings ?? [] };
        } catch (error) {
          const cause = failure() ?? (error instanceof UploadError ? error : undefined);
          if (cause) throw uploadFailure(cause);
          throw error;
        }
      }, ["input", input.key == null ? "file" : "key"]);
    },
  }),
  deleteItem: t.field({
    type: DeleteItemPayload,
    description:
      "Deletes an uploaded item and its chunks; NOT_FOUND when the key has none. Needs `admin`.",
    args: { input: t.arg({ type: DeleteItemInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const { namespace, instanceId } = itemTarget(input);
      const item = await itemByKey(context, namespace, instanceId, validateItemKey(input.key));
      return withUserErrors(async () => {
        await context.upstream.deleteItem(namespace, instanceId, item.id);
        context.loaders.itemByKey.clear({ namespace, instanceId, id: item.key });
        return { item };
      });
    },
  }),
  syncItem: t.field({
    type: SyncItemPayload,
    description: "Indexes one item again; NOT_FOUND when the key has none. Needs `admin`.",
    args: { input: t.arg({ type: SyncItemInput, required: true }) },
    resolve: async (_root, { input }, context) => {
      const { namespace, instanceId } = itemTarget(input);
      const item = await itemByKey(context, namespace, instanceId, validateItemKey(input.key));
      return withUserErrors(async () => {
        const synced = await context.upstream.syncItem(namespace, instanceId, item.id, {
          waitForCompletion: input.waitForCompletion ?? false,
        });
        return { item: { ...synced, namespace, instanceId } };
      });
    },
  }),
}));
