import { encodeGlobalID } from "@pothos/plugin-relay";
import { GraphQLError } from "graphql";
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import { ErrorCode } from "../error-codes.ts";
import { badUserInput, notFound } from "../graphql-errors.ts";
import type { ItemRecord } from "../loaders.ts";
import { UploadError, type UploadedFile } from "../uploads/file.ts";
import type { ItemUploadWarning } from "../upstream/management-types.ts";
import { recordLocalId } from "./global-ids.ts";
import { ItemRef, validateItemKey } from "./item.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { type UserErrorRecord, UserErrorRef, withUserErrors } from "./user-errors.ts";

/*
 * The item mutations: upload (a multipart file, streamed), sync and delete, naming items by key
 * as the rest of the graph does. The Item type and its reads are in item.ts.
 */

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
      resolve: (p) => (p.item ? encodeGlobalID("Item", recordLocalId(p.item)) : null),
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
