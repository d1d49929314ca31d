import { decodeGlobalID } from "@pothos/plugin-relay";
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import { notFound } from "../graphql-errors.ts";
import { type InstanceRecord, primeInstances } from "../loaders.ts";
import type { InstanceStats } from "../upstream/types.ts";
import { CacheThreshold, FusionMethod, InstanceType, knownOrNull } from "./enums.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { NamespaceRef } from "./namespace.ts";
import { resolvePagedConnection } from "./pagination.ts";

export const InstanceRef = builder.objectRef<InstanceRecord>("Instance");

/** Global ids of instances carry the namespace, since an instance id is unique only within one. */
const INSTANCE_ID_SEPARATOR = "/";

/** A global id is client input like any other: both halves are checked before a lookup. */
function parseInstanceGlobalId(localId: string): { namespace: string; id: string } {
  const at = localId.indexOf(INSTANCE_ID_SEPARATOR);
  return {
    namespace: validateNamespace(at < 0 ? "" : localId.slice(0, at)),
    id: validateInstanceId(localId.slice(at + 1)),
  };
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
    r2: t.field({
      type: R2StatsRef,
      nullable: true,
      description: "Object storage.",
      resolve: (engine) => engine.r2 ?? null,
    }),
    vectorize: t.field({
      type: VectorizeStatsRef,
      nullable: true,
      description: "Vector storage.",
      resolve: (engine) => engine.vectorize ?? null,
    }),
  }),
});

const count = (description: string, pick: (stats: InstanceStats) => number | undefined) =>
  ({ description, pick }) as const;

const statCounts = {
  queued: count("Items waiting to be indexed.", (s) => s.queued),
  running: count("Items being indexed now.", (s) => s.running),
  completed: count("Items indexed.", (s) => s.completed),
  error: count("Items that failed to index.", (s) => s.error),
  skipped: count("Items skipped (unsupported or unchanged).", (s) => s.skipped),
  outdated: count("Items changed since they were indexed.", (s) => s.outdated),
};

const InstanceStatsRef = builder.objectRef<InstanceStats>("InstanceStats").implement({
  description: "Indexing progress and storage of an instance.",
  fields: (t) => ({
    ...Object.fromEntries(
      Object.entries(statCounts).map(([name, { description, pick }]) => [
        name,
        t.int({ nullable: true, description, resolve: (stats) => pick(stats) ?? null }),
      ]),
    ),
    lastActivity: t.field({
      type: "DateTime",
      nullable: true,
      description: "When indexing last did something.",
      resolve: (stats) => stats.last_activity ?? null,
    }),
    degraded: t.boolean({
      nullable: true,
      description: "True when indexing is impaired.",
      resolve: (stats) => stats.degraded ?? null,
    }),
    engine: t.field({
      type: EngineStatsRef,
      nullable: true,
      description: "Storage engines.",
      resolve: (stats) => stats.engine ?? null,
    }),
  }),
});

builder.node(InstanceRef, {
  description:
    "An AI Search instance: one index of content, searched on its own or in a namespace.",
  id: { resolve: (instance) => `${instance.namespace}${INSTANCE_ID_SEPARATOR}${instance.id}` },
  loadOne: (localId, context) => context.loaders.instance.load(parseInstanceGlobalId(localId)),
  fields: (t) => ({
    instanceId: t.exposeString("id", { description: "The instance's Cloudflare id (a slug)." }),
    namespace: t.field({
      type: NamespaceRef,
      description: "The namespace the instance belongs to.",
      resolve: async (instance, _args, context) => {
        const namespace = await context.loaders.namespace.load(instance.namespace);
        if (!namespace) throw notFound(`namespace "${instance.namespace}" does not exist`);
        return namespace;
      },
    }),
    createdAt: t.field({
      type: "DateTime",
      description: "When the instance was created.",
      resolve: (i) => i.created_at,
    }),
    modifiedAt: t.field({
      type: "DateTime",
      description: "When its settings last changed.",
      resolve: (i) => i.modified_at,
    }),
    status: t.string({
      nullable: true,
      description: "Upstream status, e.g. `active`.",
      resolve: (i) => i.status ?? null,
    }),
    paused: t.boolean({
      nullable: true,
      description: "True while syncing is paused.",
      resolve: (i) => i.paused ?? null,
    }),
    enabled: t.boolean({
      nullable: true,
      description: "False when the instance is switched off.",
      resolve: (i) => i.enable ?? null,
    }),
    type: t.field({
      type: InstanceType,
      nullable: true,
      description: "Where its content comes from.",
      resolve: (i) => knownOrNull(["r2", "web-crawler"] as const, i.type),
    }),
    source: t.string({
      nullable: true,
      description: "The bucket or website it reads.",
      resolve: (i) => i.source ?? null,
    }),
    aiSearchModel: t.string({
      nullable: true,
      description: "Model that writes answers.",
      resolve: (i) => i.ai_search_model ?? null,
    }),
    embeddingModel: t.string({
      nullable: true,
      description: "Model that embeds chunks.",
      resolve: (i) => i.embedding_model ?? null,
    }),
    reranking: t.boolean({
      nullable: true,
      description: "Whether results are reranked.",
      resolve: (i) => i.reranking ?? null,
    }),
    rerankingModel: t.string({
      nullable: true,
      description: "Model that reranks results.",
      resolve: (i) => i.reranking_model ?? null,
    }),
    rewriteQuery: t.boolean({
      nullable: true,
      description: "Whether queries are rewritten before retrieval.",
      resolve: (i) => i.rewrite_query ?? null,
    }),
    rewriteModel: t.string({
      nullable: true,
      description: "Model that rewrites queries.",
      resolve: (i) => i.rewrite_model ?? null,
    }),
    fusionMethod: t.field({
      type: FusionMethod,
      nullable: true,
      description: "How keyword and vector results merge.",
      resolve: (i) => knownOrNull(["max", "rrf"] as const, i.fusion_method),
    }),
    indexMethod: t.field({
      type: IndexMethodRef,
      nullable: true,
      description: "Which indexes it keeps.",
      resolve: (i) => i.index_method ?? null,
    }),
    maxNumResults: t.int({
      nullable: true,
      description: "Default number of chunks retrieved.",
      resolve: (i) => i.max_num_results ?? null,
    }),
    scoreThreshold: t.float({
      nullable: true,
      description: "Default minimum score for a chunk.",
      resolve: (i) => i.score_threshold ?? null,
    }),
    chunkSize: t.int({
      nullable: true,
      description: "Size of each chunk when indexing.",
      resolve: (i) => i.chunk_size ?? null,
    }),
    chunkOverlap: t.int({
      nullable: true,
      description: "Overlap between neighbouring chunks.",
      resolve: (i) => i.chunk_overlap ?? null,
    }),
    cache: t.boolean({
      nullable: true,
      description: "Whether answers are cached.",
      resolve: (i) => i.cache ?? null,
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
    cacheTtl: t.int({
      nullable: true,
      description: "Seconds a cached answer lives.",
      resolve: (i) => i.cache_ttl ?? null,
    }),
    customMetadata: t.field({
      type: [CustomMetadataFieldRef],
      description: "Metadata fields indexed for filters.",
      resolve: (i) => i.custom_metadata ?? [],
    }),
    lastActivity: t.field({
      type: "DateTime",
      nullable: true,
      description: "When it last synced or served.",
      resolve: (i) => i.last_activity ?? null,
    }),
    syncInterval: t.int({
      nullable: true,
      description: "Seconds between syncs of its source.",
      resolve: (i) => i.sync_interval ?? null,
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
  key: builder.selection<{ id: string }>("id"),
  resolveReference: (reference, context) => {
    const { typename, id } = decodeGlobalID(reference.id);
    if (typename !== "Instance") return null;
    return context.loaders.instance.load(parseInstanceGlobalId(id));
  },
});

/** Backs `Namespace.instances`: one upstream list call per page window. */
export async function listInstancesConnection(
  namespace: string,
  args: Parameters<typeof resolvePagedConnection>[0] & { search?: string | null },
  context: Context,
) {
  const connection = await resolvePagedConnection(args, async (page, perPage) => {
    const search = args.search ?? undefined;
    const result = await context.upstream.listInstances(namespace, { page, perPage, search });
    return { ...result, items: result.items.map((item) => ({ ...item, namespace })) };
  });
  primeInstances(
    context.loaders,
    connection.edges.map((edge) => edge.node),
  );
  return connection;
}

builder.queryFields((t) => ({
  instance: t.field({
    type: InstanceRef,
    nullable: true,
    description:
      "One instance by namespace and Cloudflare id. Errors with NOT_FOUND when there is none.",
    args: {
      namespace: t.arg.string({
        defaultValue: "default",
        description: "The namespace to look in.",
      }),
      id: t.arg.string({ required: true, description: "The instance id." }),
    },
    resolve: async (_root, args, context) => {
      const namespace = validateNamespace(args.namespace);
      const id = validateInstanceId(args.id);
      const instance = await context.loaders.instance.load({ namespace, id });
      if (!instance)
        throw notFound(`instance "${args.id}" does not exist in namespace "${namespace}"`);
      return instance;
    },
  }),
}));
