import type { GraphQLSchema } from "graphql";
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import { badUserInput, targetNotFound } from "../graphql-errors.ts";
import { SLUG_PATTERN } from "../upstream/names.ts";
import type { InstanceStats } from "../upstream/types.ts";
import { CacheThreshold, FusionMethod, InstanceType, knownOrNull } from "./enums.ts";
import { instanceLocalId, parseInstanceLocalId, parseNodeId } from "./global-ids.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { InstanceRef, NamespaceRef } from "./refs.ts";

/** What another subgraph may send for an instance: either of its two keys. */
type InstanceRepresentation = {
  id?: unknown;
  instanceId?: unknown;
  namespace?: { name?: unknown };
};

const badRepresentation = (why: string) =>
  badUserInput(`\`representations\`: an Instance representation ${why}`, "representations");

/**
 * The instance a representation names, by its global id or by its natural key (namespace name
 * and instance id); `null` when the key is well formed but matches nothing (or, for a global
 * id, names another type), BAD_USER_INPUT when it is not a key at all.
 */
function resolveInstanceReference(
  reference: InstanceRepresentation,
  context: Context,
  schema: GraphQLSchema,
) {
  if (reference.id !== undefined) {
    if (typeof reference.id !== "string") throw badRepresentation("needs `id` as a string");
    const node = parseNodeId(
      reference.id,
      "representations",
      schema,
      "`representations`: an Instance's `id`",
    );
    if (node?.typename !== "Instance") return null;
    return context.loaders.instance.load(parseInstanceLocalId(node.id)!);
  }
  const namespace = reference.namespace?.name;
  const id = reference.instanceId;
  if (typeof namespace !== "string" || typeof id !== "string") {
    throw badRepresentation("needs `id`, or `instanceId` and `namespace { name }`");
  }
  if (!SLUG_PATTERN.test(namespace) || !SLUG_PATTERN.test(id)) {
    throw badRepresentation("has a namespace name or instance id that is not a slug");
  }
  return context.loaders.instance.load({ namespace, id });
}

const IndexMethodRef = builder
  .objectRef<{ keyword: boolean; vector: boolean }>("IndexMethod")
  .implement({
    description: "Which indexes an instance maintains.",
    fields: (t) => ({
      keyword: t.exposeBoolean("keyword", { description: "A BM25 keyword index." }),
      vector: t.exposeBoolean("vector", { description: "A vector (embedding) index." }),
    }),
  });

const CustomMetadataFieldRef = builder
  .objectRef<{ field_name: string; data_type: string }>("CustomMetadataField")
  .implement({
    description: "A metadata field the instance indexes for filtering and boosting.",
    fields: (t) => ({
      fieldName: t.exposeString("field_name", { description: "The field's name." }),
      dataType: t.exposeString("data_type", {
        description: "`text`, `number`, `boolean` or `datetime`.",
      }),
    }),
  });

type EngineStats = NonNullable<InstanceStats["engine"]>;

const R2StatsRef = builder.objectRef<NonNullable<EngineStats["r2"]>>("R2Stats").implement({
  description: "Storage used by the instance's source objects.",
  fields: (t) => ({
    objectCount: t.exposeInt("objectCount", { description: "Objects stored." }),
    payloadSizeBytes: t.exposeFloat("payloadSizeBytes", { description: "Bytes of content." }),
    metadataSizeBytes: t.exposeFloat("metadataSizeBytes", { description: "Bytes of metadata." }),
  }),
});

const VectorizeStatsRef = builder
  .objectRef<NonNullable<EngineStats["vectorize"]>>("VectorizeStats")
  .implement({
    description: "Size of the instance's vector index.",
    fields: (t) => ({
      dimensions: t.exposeInt("dimensions", { description: "Embedding dimensions." }),
      vectorsCount: t.exposeFloat("vectorsCount", { description: "Vectors stored." }),
    }),
  });

const EngineStatsRef = builder.objectRef<EngineStats>("EngineStats").implement({
  description: "Storage engines behind an instance.",
  fields: (t) => ({
    r2: t.expose("r2", {
      type: R2StatsRef,
      nullable: true,
      description: "Object storage.",
    }),
    vectorize: t.expose("vectorize", {
      type: VectorizeStatsRef,
      nullable: true,
      description: "Vector storage.",
    }),
  }),
});

const InstanceStatsRef = builder.objectRef<InstanceStats>("InstanceStats").implement({
  description: "Indexing progress and storage of an instance.",
  fields: (t) => ({
    queued: t.exposeInt("queued", { nullable: true, description: "Items waiting to be indexed." }),
    running: t.exposeInt("running", { nullable: true, description: "Items being indexed now." }),
    completed: t.exposeInt("completed", { nullable: true, description: "Items indexed." }),
    error: t.exposeInt("error", { nullable: true, description: "Items that failed to index." }),
    skipped: t.exposeInt("skipped", {
      nullable: true,
      description: "Items skipped (unsupported or unchanged).",
    }),
    outdated: t.exposeInt("outdated", {
      nullable: true,
      description: "Items changed since they were indexed.",
    }),
    lastActivity: t.expose("last_activity", {
      type: "DateTime",
      nullable: true,
      description: "When indexing last did something.",
    }),
    degraded: t.exposeBoolean("degraded", {
      nullable: true,
      description: "True when indexing is impaired.",
    }),
    engine: t.expose("engine", {
      type: EngineStatsRef,
      nullable: true,
      description: "Storage engines.",
    }),
  }),
});

builder.node(InstanceRef, {
  description:
    "An AI Search instance: one index of content, searched on its own or in a namespace.",
  id: { resolve: instanceLocalId },
  // `Query.node` has checked the local id (src/schema/node.ts).
  loadOne: (localId, context) => context.loaders.instance.load(parseInstanceLocalId(localId)!),
  fields: (t) => ({
    instanceId: t.exposeString("id", { description: "The instance's Cloudflare id (a slug)." }),
    namespace: t.field({
      type: NamespaceRef,
      description: "The namespace the instance belongs to.",
      resolve: async (instance, _args, context) => {
        const namespace = await context.loaders.namespace.load(instance.namespace);
        // Listed a moment ago, gone now: a failure of this field, not a lookup that found nothing.
        if (!namespace) throw targetNotFound({ namespace: instance.namespace });
        return namespace;
      },
    }),
    createdAt: t.expose("created_at", {
      type: "DateTime",
      description: "When the instance was created.",
    }),
    modifiedAt: t.expose("modified_at", {
      type: "DateTime",
      description: "When its settings last changed.",
    }),
    status: t.exposeString("status", {
      nullable: true,
      description: "Upstream status, e.g. `active`.",
    }),
    paused: t.exposeBoolean("paused", {
      nullable: true,
      description: "True while syncing is paused.",
    }),
    enabled: t.exposeBoolean("enable", {
      nullable: true,
      description: "False when the instance is switched off.",
    }),
    type: t.field({
      type: InstanceType,
      nullable: true,
      description: "Where its content comes from.",
      resolve: (i) => knownOrNull(["r2", "web-crawler"] as const, i.type),
    }),
    source: t.exposeString("source", {
      nullable: true,
      description: "The bucket or website it reads.",
    }),
    aiSearchModel: t.exposeString("ai_search_model", {
      nullable: true,
      description: "Model that writes answers.",
    }),
    embeddingModel: t.exposeString("embedding_model", {
      nullable: true,
      description: "Model that embeds chunks.",
    }),
    reranking: t.exposeBoolean("reranking", {
      nullable: true,
      description: "Whether results are reranked.",
    }),
    rerankingModel: t.exposeString("reranking_model", {
      nullable: true,
      description: "Model that reranks results.",
    }),
    rewriteQuery: t.exposeBoolean("rewrite_query", {
      nullable: true,
      description: "Whether queries are rewritten before retrieval.",
    }),
    rewriteModel: t.exposeString("rewrite_model", {
      nullable: true,
      description: "Model that rewrites queries.",
    }),
    fusionMethod: t.field({
      type: FusionMethod,
      nullable: true,
      description: "How keyword and vector results merge.",
      resolve: (i) => knownOrNull(["max", "rrf"] as const, i.fusion_method),
    }),
    indexMethod: t.expose("index_method", {
      type: IndexMethodRef,
      nullable: true,
      description: "Which indexes it keeps.",
    }),
    maxNumResults: t.exposeInt("max_num_results", {
      nullable: true,
      description: "Default number of chunks retrieved.",
    }),
    scoreThreshold: t.exposeFloat("score_threshold", {
      nullable: true,
      description: "Default minimum score for a chunk.",
    }),
    chunkSize: t.exposeInt("chunk_size", {
      nullable: true,
      description: "Size of each chunk when indexing.",
    }),
    chunkOverlap: t.exposeInt("chunk_overlap", {
      nullable: true,
      description: "Overlap between neighbouring chunks.",
    }),
    cache: t.exposeBoolean("cache", {
      nullable: true,
      description: "Whether answers are cached.",
    }),
    cacheThreshold: t.field({
      type: CacheThreshold,
      nullable: true,
      description: "How close a question must be to reuse a cached answer.",
      resolve: (i) =>
        knownOrNull(
          ["super_strict_match", "close_enough", "flexible_friend", "anything_goes"] as const,
          i.cache_threshold,
        ),
    }),
    cacheTtl: t.exposeInt("cache_ttl", {
      nullable: true,
      description: "Seconds a cached answer lives.",
    }),
    customMetadata: t.field({
      type: [CustomMetadataFieldRef],
      description: "Metadata fields indexed for filters.",
      resolve: (i) => i.custom_metadata ?? [],
    }),
    lastActivity: t.expose("last_activity", {
      type: "DateTime",
      nullable: true,
      description: "When it last synced or served.",
    }),
    syncInterval: t.exposeInt("sync_interval", {
      nullable: true,
      description: "Seconds between syncs of its source.",
    }),
    stats: t.field({
      type: InstanceStatsRef,
      nullable: true,
      description: "Indexing progress and storage (one upstream call per instance).",
      resolve: (i, _args, context) =>
        context.loaders.instanceStats.load({ namespace: i.namespace, id: i.id }),
    }),
  }),
});

builder.asEntity(InstanceRef, {
  key: [
    builder.selection<{ id: string }>("id"),
    // The natural key, for subgraphs that know an instance by what Cloudflare calls it.
    builder.selection<{ instanceId: string; namespace: { name: string } }>(
      "instanceId namespace { name }",
    ),
  ],
  // Representations arrive as JSON: the key's shape is checked there, not assumed.
  resolveReference: (reference, context, info) =>
    resolveInstanceReference(reference as InstanceRepresentation, context, info.schema),
});

builder.queryFields((t) => ({
  instance: t.field({
    type: InstanceRef,
    nullable: true,
    description: "One instance by namespace and Cloudflare id; null when there is none.",
    args: {
      namespace: t.arg.string({
        defaultValue: "default",
        description: "The namespace to look in.",
      }),
      id: t.arg.string({ required: true, description: "The instance id." }),
    },
    resolve: (_root, args, context) =>
      context.loaders.instance.load({
        namespace: validateNamespace(args.namespace),
        id: validateInstanceId(args.id),
      }),
  }),
}));
