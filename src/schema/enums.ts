import { builder } from "../builder.ts";

/*
 * Closed string sets of the upstream API. Each GraphQL value maps to its wire value, so resolvers
 * pass upstream strings straight through and inputs arrive already in wire form.
 */

export const FusionMethod = builder.enumType("FusionMethod", {
  description: "How results from several retrieval methods or instances are merged.",
  values: {
    MAX: { value: "max", description: "Keep each chunk's best score." },
    RRF: { value: "rrf", description: "Reciprocal-rank fusion: merge by rank, not raw score." },
  } as const,
});

export const ChatRole = builder.enumType("ChatRole", {
  description: "Who wrote a chat message.",
  values: {
    SYSTEM: { value: "system", description: "Instructions that frame the conversation." },
    DEVELOPER: { value: "developer", description: "Instructions from the application developer." },
    USER: { value: "user", description: "The person asking." },
    ASSISTANT: { value: "assistant", description: "The model's answer." },
    TOOL: { value: "tool", description: "Output of a tool call." },
  } as const,
});

export const RetrievalType = builder.enumType("RetrievalType", {
  description: "Which index a retrieval uses.",
  values: {
    VECTOR: { value: "vector", description: "Semantic search over embeddings." },
    KEYWORD: { value: "keyword", description: "BM25 keyword search." },
    HYBRID: { value: "hybrid", description: "Both, merged by the fusion method." },
  } as const,
});

export const KeywordMatchMode = builder.enumType("KeywordMatchMode", {
  description: "Whether keyword search needs every term or any term.",
  values: {
    AND: { value: "and", description: "Every query term must match." },
    OR: { value: "or", description: "Any query term may match." },
  } as const,
});

export const CacheThreshold = builder.enumType("CacheThreshold", {
  description: "How similar a new question must be to a cached one to reuse its answer.",
  values: {
    SUPER_STRICT_MATCH: { value: "super_strict_match", description: "Near-identical only." },
    CLOSE_ENOUGH: { value: "close_enough", description: "Small wording differences." },
    FLEXIBLE_FRIEND: { value: "flexible_friend", description: "Same intent, other words." },
    ANYTHING_GOES: { value: "anything_goes", description: "Loosest reuse." },
  } as const,
});

export const BoostDirection = builder.enumType("BoostDirection", {
  description: "How a metadata field boosts retrieval scores.",
  values: {
    ASC: { value: "asc", description: "Lower values rank higher." },
    DESC: { value: "desc", description: "Higher values rank higher." },
    EXISTS: { value: "exists", description: "Chunks that have the field rank higher." },
    NOT_EXISTS: { value: "not_exists", description: "Chunks without the field rank higher." },
  } as const,
});

export const InstanceType = builder.enumType("InstanceType", {
  description: "Where an instance's content comes from.",
  values: {
    R2: { value: "r2", description: "Objects in an R2 bucket." },
    WEB_CRAWLER: { value: "web-crawler", description: "Pages crawled from a website." },
  } as const,
});

export const QueryKind = builder.enumType("QueryKind", {
  description: "What kind of query a search ran.",
  values: {
    TEXT: { value: "text", description: "A text query." },
    IMAGE: { value: "image", description: "An image query." },
    MULTIMODAL: { value: "multimodal", description: "Text and images together." },
  } as const,
});

/**
 * Upstream may add values before we do; an unknown one becomes null instead of failing the
 * whole field with a serialization error.
 */
export function knownOrNull<T extends string>(
  allowed: readonly T[],
  value: string | null | undefined,
): T | null {
  return value != null && (allowed as readonly string[]).includes(value) ? (value as T) : null;
}
