import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import type { Chunk, InstanceError, ScoringDetails } from "../upstream/types.ts";
import { FusionMethod, knownOrNull } from "./enums.ts";
import { InstanceRef } from "./refs.ts";

/** Chunks remember the namespace they were retrieved from, so `Chunk.instance` can be looked up. */
export interface ChunkRecord {
  namespace: string;
  chunk: Chunk;
}

export interface InstanceErrorRecord {
  namespace: string;
  error: InstanceError;
}

export const toChunkRecords = (namespace: string, chunks: readonly Chunk[]): ChunkRecord[] =>
  chunks.map((chunk) => ({ namespace, chunk }));

export const toInstanceErrorRecords = (
  namespace: string,
  errors: readonly InstanceError[] | undefined,
): InstanceErrorRecord[] => (errors ?? []).map((error) => ({ namespace, error }));

const loadInstance = (namespace: string, id: string, context: Context) =>
  context.loaders.instance.load({ namespace, id });

export const ScoringDetailsRef = builder.objectRef<ScoringDetails>("ScoringDetails").implement({
  description: "How a chunk's score came about, per retrieval method.",
  fields: (t) => ({
    fusionMethod: t.field({
      type: FusionMethod,
      nullable: true,
      description: "How keyword and vector results were merged.",
      resolve: (d) => knownOrNull(["max", "rrf"] as const, d.fusion_method),
    }),
    keywordRank: t.exposeInt("keyword_rank", {
      nullable: true,
      description: "1-based rank in the keyword results.",
    }),
    keywordScore: t.exposeFloat("keyword_score", {
      nullable: true,
      description: "Keyword (BM25) score.",
    }),
    rerankingScore: t.exposeFloat("reranking_score", {
      nullable: true,
      description: "Score given by the reranker.",
    }),
    vectorRank: t.exposeInt("vector_rank", {
      nullable: true,
      description: "1-based rank in the vector results.",
    }),
    vectorScore: t.exposeFloat("vector_score", {
      nullable: true,
      description: "Vector similarity score.",
    }),
  }),
});

const ChunkItemRef = builder.objectRef<NonNullable<Chunk["item"]>>("ChunkItem").implement({
  description: "The source item (file, page) a chunk was cut from.",
  fields: (t) => ({
    key: t.exposeString("key", { description: "The item's key, e.g. its path in the bucket." }),
    metadata: t.expose("metadata", {
      type: "JSON",
      nullable: true,
      description: "Metadata stored with the item (title, folder, custom fields).",
    }),
    timestamp: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the item was last modified.",
      // The wire carries seconds since the epoch.
      resolve: (item) => (item.timestamp == null ? null : new Date(item.timestamp * 1000)),
    }),
  }),
});

/*
 * Everything on a `Chunk` belongs to one retrieval: its score and scoring details are this
 * query's, and so is its text (`contextExpansion` adds the neighbouring passages to it). So the
 * type has no `id`: a normalising cache (Apollo's `InMemoryCache`, urql's Graphcache) keys
 * objects by `id`, and would merge the chunk of one search into the same stored chunk retrieved
 * by another, showing one query's scores in the other's results. Without one, each result keeps
 * its own chunks. The stored chunk's identity is still there, as `chunkId`.
 */
export const ChunkRef = builder.objectRef<ChunkRecord>("Chunk").implement({
  description:
    "A passage as one retrieval returned it, with the score that ranked it there. It has no `id` on purpose: its score, scoring details and text belong to this retrieval, so normalising caches keep it inside the result it came with instead of merging it across queries.",
  fields: (t) => ({
    chunkId: t.string({
      description:
        "The stored chunk's upstream id: the same passage retrieved by another query has the same one.",
      resolve: ({ chunk }) => chunk.id,
    }),
    instanceId: t.string({
      description: "Id of the instance it came from.",
      resolve: ({ chunk }) => chunk.instance_id,
    }),
    instance: t.field({
      type: InstanceRef,
      nullable: true,
      description: "The instance it came from (batched: one lookup per namespace per operation).",
      resolve: (record, _args, context) =>
        loadInstance(record.namespace, record.chunk.instance_id, context),
    }),
    score: t.float({
      description: "Final relevance score in this retrieval; higher is better.",
      resolve: ({ chunk }) => chunk.score,
    }),
    text: t.string({
      description: "The passage's text, with any neighbouring passages `contextExpansion` added.",
      resolve: ({ chunk }) => chunk.text,
    }),
    type: t.string({
      description: "Content type of the passage, e.g. `text`.",
      resolve: ({ chunk }) => chunk.type,
    }),
    item: t.field({
      type: ChunkItemRef,
      nullable: true,
      description: "The source item.",
      resolve: ({ chunk }) => chunk.item ?? null,
    }),
    scoringDetails: t.field({
      type: ScoringDetailsRef,
      nullable: true,
      description: "Per-method scores and ranks in this retrieval.",
      resolve: ({ chunk }) => chunk.scoring_details ?? null,
    }),
  }),
});

export const InstanceErrorRef = builder.objectRef<InstanceErrorRecord>("InstanceError").implement({
  description:
    "An instance that failed during a multi-instance request. The other instances still answered.",
  fields: (t) => ({
    instanceId: t.string({
      description: "Id of the instance that failed.",
      resolve: ({ error }) => error.instance_id,
    }),
    instance: t.field({
      type: InstanceRef,
      nullable: true,
      description: "The instance that failed, when it exists.",
      resolve: (record, _args, context) =>
        loadInstance(record.namespace, record.error.instance_id, context),
    }),
    message: t.string({
      description: "What went wrong, as the upstream reported it.",
      resolve: ({ error }) => error.message,
    }),
  }),
});
