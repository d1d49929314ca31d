import { builder, type SchemaTypes } from "../builder.ts";
import { badUserInput } from "../graphql-errors.ts";
import type { AiSearchOptions } from "../upstream/types.ts";
import {
  BoostDirection,
  CacheThreshold,
  FusionMethod,
  KeywordMatchMode,
  RetrievalType,
} from "./enums.ts";
import { MetadataFilterInput, toWireFilters } from "./metadata-filters.ts";
import { validateInstanceIds } from "./names.ts";

const CacheInput = builder.inputType("CacheOptionsInput", {
  description: "Reuse of answers to similar earlier questions.",
  fields: (t) => ({
    enabled: t.boolean({ description: "Use the answer cache." }),
    threshold: t.field({ type: CacheThreshold, description: "How similar a question must be." }),
  }),
});

const QueryRewriteInput = builder.inputType("QueryRewriteInput", {
  description: "Rewriting the question into a better search query before retrieval.",
  fields: (t) => ({
    enabled: t.boolean({ description: "Rewrite the query." }),
    model: t.string({ description: "Model that rewrites." }),
    rewritePrompt: t.string({ description: "Instructions for the rewrite." }),
  }),
});

const RerankingInput = builder.inputType("RerankingInput", {
  description: "Reordering retrieved chunks with a reranking model.",
  fields: (t) => ({
    enabled: t.boolean({ description: "Rerank the chunks." }),
    matchThreshold: t.float({ description: "Drop chunks the reranker scores below this (0–1)." }),
    model: t.string({ description: "Reranking model, e.g. `@cf/baai/bge-reranker-base`." }),
  }),
});

const BoostByInput = builder.inputType("BoostByInput", {
  description: "Favour chunks by a metadata field.",
  fields: (t) => ({
    field: t.string({ required: true, description: "The metadata field." }),
    direction: t.field({ type: BoostDirection, description: "How the field boosts." }),
  }),
});

const RetrievalInput = builder.inputType("RetrievalInput", {
  description: "How chunks are retrieved from each instance.",
  fields: (t) => ({
    retrievalType: t.field({ type: RetrievalType, description: "Keyword, vector or both." }),
    fusionMethod: t.field({ type: FusionMethod, description: "How results merge." }),
    keywordMatchMode: t.field({ type: KeywordMatchMode, description: "All terms or any term." }),
    matchThreshold: t.float({ description: "Minimum score for a chunk (0–1)." }),
    maxNumResults: t.int({ description: "Most chunks to return (1–50)." }),
    contextExpansion: t.int({
      description: "Neighbouring chunks to add to each hit's text (0–3, as Cloudflare allows).",
    }),
    filters: t.field({
      type: [MetadataFilterInput],
      description:
        'Metadata conditions, all of which must hold, e.g. `[{ field: "folder", eq: "guides/" }, { field: "timestamp", gte: 1735689600 }]`.',
    }),
    metadataOnly: t.boolean({
      description: "Return the matching chunks' metadata (item, scores) without their text.",
    }),
    returnOnFailure: t.boolean({ description: "Answer even when retrieval fails." }),
    boostBy: t.field({ type: [BoostByInput], description: "Metadata boosts." }),
  }),
});

type InputFields = PothosSchemaTypes.InputFieldBuilder<SchemaTypes, "InputObject">;

/** The seed's `ai_search_options` groups, shared by the search and chat completion inputs. */
export const aiSearchOptionFields = (t: InputFields) => ({
  cache: t.field({ type: CacheInput, description: "Answer cache." }),
  queryRewrite: t.field({ type: QueryRewriteInput, description: "Query rewriting." }),
  reranking: t.field({ type: RerankingInput, description: "Reranking." }),
  retrieval: t.field({ type: RetrievalInput, description: "Retrieval." }),
});

interface OptionsInput {
  cache?: typeof CacheInput.$inferInput | null;
  queryRewrite?: typeof QueryRewriteInput.$inferInput | null;
  reranking?: typeof RerankingInput.$inferInput | null;
  retrieval?: typeof RetrievalInput.$inferInput | null;
}

function inRange(value: number | null | undefined, min: number, max: number, field: string) {
  if (value == null) return undefined;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw badUserInput(`\`${field}\` must be between ${min} and ${max}`, field);
  }
  return value;
}

/** Drops undefined keys so the upstream body carries only what the caller set. */
function compact<T extends object>(value: T): T | undefined {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined && v !== null);
  return entries.length ? (Object.fromEntries(entries) as T) : undefined;
}

/** Validates ranges and shapes, then converts to the wire's snake_case groups. */
export function toAiSearchOptions(
  instanceIds: readonly string[],
  options: OptionsInput | null | undefined,
): AiSearchOptions {
  const r = options?.retrieval;
  return {
    instance_ids: validateInstanceIds(instanceIds),
    cache: options?.cache
      ? compact({
          enabled: options.cache.enabled ?? undefined,
          cache_threshold: options.cache.threshold ?? undefined,
        })
      : undefined,
    query_rewrite: options?.queryRewrite
      ? compact({
          enabled: options.queryRewrite.enabled ?? undefined,
          model: options.queryRewrite.model ?? undefined,
          rewrite_prompt: options.queryRewrite.rewritePrompt ?? undefined,
        })
      : undefined,
    reranking: options?.reranking
      ? compact({
          enabled: options.reranking.enabled ?? undefined,
          match_threshold: inRange(
            options.reranking.matchThreshold,
            0,
            1,
            "reranking.matchThreshold",
          ),
          model: options.reranking.model ?? undefined,
        })
      : undefined,
    retrieval: r
      ? compact({
          retrieval_type: r.retrievalType ?? undefined,
          fusion_method: r.fusionMethod ?? undefined,
          keyword_match_mode: r.keywordMatchMode ?? undefined,
          match_threshold: inRange(r.matchThreshold, 0, 1, "retrieval.matchThreshold"),
          max_num_results: inRange(r.maxNumResults, 1, 50, "retrieval.maxNumResults"),
          context_expansion: inRange(r.contextExpansion, 0, 3, "retrieval.contextExpansion"),
          filters: toWireFilters(r.filters),
          metadata_only: r.metadataOnly ?? undefined,
          return_on_failure: r.returnOnFailure ?? undefined,
          boost_by: r.boostBy?.map(
            (b) => compact({ field: b.field, direction: b.direction ?? undefined })!,
          ),
        })
      : undefined,
  };
}
