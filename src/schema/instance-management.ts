import { encodeGlobalID } from "@pothos/plugin-relay";
import { builder } from "../builder.ts";
import { badUserInput, notFound } from "../graphql-errors.ts";
import type { InstanceRecord } from "../loaders.ts";
import type { InstanceSettingsRequest } from "../upstream/management-types.ts";
import { CacheThreshold, FusionMethod } from "./enums.ts";
import { instanceLocalId } from "./global-ids.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { InstanceRef } from "./refs.ts";
import { type UserErrorRecord, UserErrorRef, withUserErrors } from "./user-errors.ts";

/** Model names and the like: free text the upstream checks, bounded here. */
const MAX_NAME = 256;

const CustomMetadataType = builder.enumType("CustomMetadataType", {
  description: "The type of a custom metadata field.",
  values: {
    TEXT: { value: "text", description: "A string." },
    NUMBER: { value: "number", description: "A number." },
    BOOLEAN: { value: "boolean", description: "True or false." },
    DATETIME: { value: "datetime", description: "A date-time." },
  } as const,
});

const CustomMetadataFieldInput = builder.inputType("CustomMetadataFieldInput", {
  description: "A metadata field the instance indexes for filters and boosts.",
  fields: (t) => ({
    fieldName: t.string({ required: true, description: "The field's name." }),
    dataType: t.field({ type: CustomMetadataType, required: true, description: "Its type." }),
  }),
});

const IndexMethodInput = builder.inputType("IndexMethodInput", {
  description: "Which indexes an instance keeps.",
  fields: (t) => ({
    keyword: t.boolean({ description: "A BM25 keyword index." }),
    vector: t.boolean({ description: "A vector index." }),
  }),
});

const InstanceSettingsInput = builder.inputType("InstanceSettingsInput", {
  description:
    "Settings of an instance; each one left out keeps its current (or default) value. The upstream checks the ranges.",
  fields: (t) => ({
    aiSearchModel: t.string({ description: "Model that writes answers." }),
    embeddingModel: t.string({ description: "Model that embeds chunks (fixed once indexed)." }),
    chunkSize: t.int({ description: "Size of each chunk when indexing." }),
    chunkOverlap: t.int({ description: "Overlap between neighbouring chunks." }),
    maxNumResults: t.int({ description: "Default number of chunks retrieved." }),
    scoreThreshold: t.float({ description: "Default minimum score for a chunk." }),
    fusionMethod: t.field({ type: FusionMethod, description: "How keyword and vector merge." }),
    indexMethod: t.field({ type: IndexMethodInput, description: "Which indexes it keeps." }),
    reranking: t.boolean({ description: "Rerank results." }),
    rerankingModel: t.string({ description: "Model that reranks." }),
    rewriteQuery: t.boolean({ description: "Rewrite queries before retrieval." }),
    rewriteModel: t.string({ description: "Model that rewrites." }),
    cache: t.boolean({ description: "Cache answers." }),
    cacheThreshold: t.field({ type: CacheThreshold, description: "How close a question must be." }),
    cacheTtl: t.int({ description: "Seconds a cached answer lives (600–518400)." }),
    customMetadata: t.field({
      type: [CustomMetadataFieldInput],
      description: "Metadata fields to index (at most 5).",
    }),
    syncInterval: t.int({ description: "Seconds between syncs of its source (900–86400)." }),
  }),
});

type SettingsArgs = NonNullable<(typeof InstanceSettingsInput)["$inferInput"]>;

function text(value: string | null | undefined, field: string): string | undefined {
  if (value == null) return undefined;
  if (value.length > MAX_NAME) {
    throw badUserInput(`\`${field}\` may have at most ${MAX_NAME} characters`, field);
  }
  return value;
}

/** The settings as the upstream takes them; only what was given. */
function toSettings(input: SettingsArgs | null | undefined): InstanceSettingsRequest {
  if (!input) return {};
  const settings: InstanceSettingsRequest = {};
  const set = <K extends keyof InstanceSettingsRequest>(
    key: K,
    value: InstanceSettingsRequest[K] | null | undefined,
  ) => {
    if (value != null) settings[key] = value;
  };
  set("ai_search_model", text(input.aiSearchModel, "aiSearchModel"));
  set("embedding_model", text(input.embeddingModel, "embeddingModel"));
  set("chunk_size", input.chunkSize);
  set("chunk_overlap", input.chunkOverlap);
  set("max_num_results", input.maxNumResults);
  set("score_threshold", input.scoreThreshold);
  set("fusion_method", input.fusionMethod);
  if (input.indexMethod) {
    set("index_method", {
      ...(input.indexMethod.keyword != null && { keyword: input.indexMethod.keyword }),
      ...(input.indexMethod.vector != null && { vector: input.indexMethod.vector }),
    });
  }
  set("reranking", input.reranking);
  set("reranking_model", text(input.rerankingModel, "rerankingModel"));
  set("rewrite_query", input.rewriteQuery);
  set("rewrite_model", text(input.rewriteModel, "rewriteModel"));
  set("cache", input.cache);
  set("cache_threshold", input.cacheThreshold);
  set("cache_ttl", input.cacheTtl);
  if (input.customMetadata) {
    if (input.customMetadata.length > 5) {
      throw badUserInput("`customMetadata` may declare at most 5 fields", "customMetadata");
    }
    set(
      "custom_metadata",
      input.customMetadata.map((field) => ({
        field_name: text(field.fieldName, "customMetadata") ?? "",
        data_type: field.dataType,
      })),
    );
  }
  set("sync_interval", input.syncInterval);
  return settings;
}

const CreateInstanceInput = builder.inputType("CreateInstanceInput", {
  description: "A new instance with managed, upload-only storage.",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "The namespace to create it in." }),
    instanceId: t.string({
      required: true,
      description: "Its id: a slug, unique in the namespace.",
    }),
    settings: t.field({ type: InstanceSettingsInput, description: "Its settings." }),
  }),
});

const UpdateInstanceInput = builder.inputType("UpdateInstanceInput", {
  description: "Changes to an instance.",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "Its namespace." }),
    instanceId: t.string({ required: true, description: "Its id." }),
    settings: t.field({ type: InstanceSettingsInput, description: "Settings to change." }),
    paused: t.boolean({ description: "Pause (or resume) syncing." }),
  }),
});

const DeleteInstanceInput = builder.inputType("DeleteInstanceInput", {
  description: "The instance to delete, with its index and items.",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "Its namespace." }),
    instanceId: t.string({ required: true, description: "Its id." }),
  }),
});

const MoveInstanceInput = builder.inputType("MoveInstanceInput", {
  description: "An instance to move into another namespace, keeping its id.",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "Where it is now." }),
    instanceId: t.string({ required: true, description: "Its id." }),
    toNamespace: t.string({ required: true, description: "Where it goes." }),
  }),
});

interface InstancePayload {
  instance?: InstanceRecord;
  userErrors: UserErrorRecord[];
}

const instancePayload = (name: string, description: string, instanceDescription: string) =>
  builder.objectRef<InstancePayload>(name).implement({
    description,
    fields: (t) => ({
      instance: t.expose("instance", {
        type: InstanceRef,
        nullable: true,
        description: instanceDescription,
      }),
      userErrors: t.expose("userErrors", {
        type: [UserErrorRef],
        description: "Why it was refused.",
      }),
    }),
  });

const CreateInstancePayload = instancePayload(
  "CreateInstancePayload",
  "The instance created, or why not: NAME_TAKEN, LIMIT_REACHED.",
  "The new instance; null when refused.",
);
const UpdateInstancePayload = instancePayload(
  "UpdateInstancePayload",
  "The instance changed.",
  "The instance as it is now.",
);
const MoveInstancePayload = instancePayload(
  "MoveInstancePayload",
  "The instance moved, or why not: NAME_TAKEN (the target has an instance with that id).",
  "The instance in its new namespace; null when refused.",
);

const DeleteInstancePayload = builder
  .objectRef<InstancePayload>("DeleteInstancePayload")
  .implement({
    description: "The instance deleted.",
    fields: (t) => ({
      deletedInstanceId: t.id({
        nullable: true,
        description: "The global id it had, to drop it from client caches.",
        resolve: (p) =>
          p.instance ? encodeGlobalID("Instance", instanceLocalId(p.instance)) : null,
      }),
      instance: t.expose("instance", {
        type: InstanceRef,
        nullable: true,
        description: "The instance as it was (its fields only: it no longer exists).",
      }),
      userErrors: t.expose("userErrors", {
        type: [UserErrorRef],
        description: "Why it was refused.",
      }),
    }),
  });

const located = (namespace: string, instance: { id: string } & object): InstanceRecord =>
  ({ ...instance, namespace }) as InstanceRecord;

builder.mutationFields((t) => ({
  createInstance: t.field({
    type: CreateInstancePayload,
    description: "Creates an instance (managed storage: upload items to it). Needs `admin`.",
    args: { input: t.arg({ type: CreateInstanceInput, required: true }) },
    resolve: (_root, { input }, context) => {
      const namespace = validateNamespace(input.namespace);
      const id = validateInstanceId(input.instanceId, "instanceId");
      const settings = toSettings(input.settings);
      return withUserErrors(async () => {
        const created = await context.upstream.createInstance(namespace, { id, ...settings });
        return { instance: located(namespace, created) };
      }, ["input", "instanceId"]);
    },
  }),
  updateInstance: t.field({
    type: UpdateInstancePayload,
    description: "Changes an instance's settings, or pauses it. Needs `admin`.",
    args: { input: t.arg({ type: UpdateInstanceInput, required: true }) },
    resolve: (_root, { input }, context) => {
      const namespace = validateNamespace(input.namespace);
      const id = validateInstanceId(input.instanceId, "instanceId");
      const body = {
        ...toSettings(input.settings),
        ...(input.paused != null && { paused: input.paused }),
      };
      if (Object.keys(body).length === 0)
        throw badUserInput("give `settings` or `paused` to change");
      return withUserErrors(async () => {
        const updated = await context.upstream.updateInstance(namespace, id, body);
        return { instance: located(namespace, updated) };
      });
    },
  }),
  deleteInstance: t.field({
    type: DeleteInstancePayload,
    description: "Deletes an instance, its index and its items. Needs `admin`.",
    args: { input: t.arg({ type: DeleteInstanceInput, required: true }) },
    resolve: (_root, { input }, context) => {
      const namespace = validateNamespace(input.namespace);
      const id = validateInstanceId(input.instanceId, "instanceId");
      return withUserErrors(async () => {
        const deleted = await context.upstream.deleteInstance(namespace, id);
        context.loaders.instance.clear({ namespace, id });
        return { instance: located(namespace, { ...deleted, id }) };
      });
    },
  }),
  moveInstance: t.field({
    type: MoveInstancePayload,
    description: "Moves an instance to another namespace, keeping its id. Needs `admin`.",
    args: { input: t.arg({ type: MoveInstanceInput, required: true }) },
    resolve: (_root, { input }, context) => {
      const namespace = validateNamespace(input.namespace);
      const id = validateInstanceId(input.instanceId, "instanceId");
      const target = validateNamespace(input.toNamespace, "toNamespace");
      if (target === namespace) {
        throw badUserInput(
          "`toNamespace` is the namespace the instance is already in",
          "toNamespace",
        );
      }
      return withUserErrors(async () => {
        // The upstream documents no result for a move: read the instance where it now is.
        const moved =
          (await context.upstream.moveInstance(namespace, id, target)) ??
          (await context.upstream.getInstance(target, id));
        if (!moved) throw notFound(`instance "${id}" does not exist in namespace "${target}"`);
        context.loaders.instance.clear({ namespace, id });
        return { instance: located(target, moved) };
      }, ["input", "toNamespace"]);
    },
  }),
}));
