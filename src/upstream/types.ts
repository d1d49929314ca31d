/**
 * Wire types of the Cloudflare AI Search REST API, as the upstream sends and receives them
 * (snake_case). Both the client and the embedded local AI Search speak exactly these shapes;
 * the GraphQL schema maps them to camelCase.
 */

export type JsonObject = { [key: string]: unknown };

/** One entry of the v4 envelope's `errors`/`messages` arrays. */
export interface CloudflareMessage {
  code: number;
  message: string;
  documentation_url?: string;
  source?: { pointer: string };
}

export interface ResultInfo {
  page: number;
  per_page: number;
  count?: number;
  total_count?: number;
}

/** The v4 envelope most endpoints answer with. */
export interface Envelope<T> {
  success: boolean;
  errors: CloudflareMessage[];
  messages: CloudflareMessage[];
  result: T;
  result_info?: ResultInfo;
}

export interface Namespace {
  name: string;
  created_at: string;
  description?: string | null;
  public_endpoint_id?: string | null;
  public_endpoint_params?: JsonObject | null;
}

export type FusionMethod = "max" | "rrf";
export type InstanceType = "r2" | "web-crawler";
export type CustomMetadataType = "text" | "number" | "boolean" | "datetime";

export interface Instance {
  id: string;
  created_at: string;
  modified_at: string;
  namespace?: string;
  status?: string;
  paused?: boolean;
  enable?: boolean;
  type?: InstanceType;
  source?: string;
  ai_search_model?: string;
  embedding_model?: string;
  reranking?: boolean;
  reranking_model?: string;
  rewrite_query?: boolean;
  rewrite_model?: string;
  fusion_method?: FusionMethod;
  index_method?: { keyword: boolean; vector: boolean };
  max_num_results?: number;
  score_threshold?: number;
  chunk_size?: number;
  chunk_overlap?: number;
  cache?: boolean;
  cache_threshold?: CacheThreshold;
  cache_ttl?: number;
  custom_metadata?: { field_name: string; data_type: CustomMetadataType }[];
  last_activity?: string;
  sync_interval?: number;
}

export interface InstanceStats {
  queued?: number;
  running?: number;
  completed?: number;
  error?: number;
  skipped?: number;
  outdated?: number;
  last_activity?: string;
  degraded?: boolean;
  engine?: {
    r2?: { objectCount: number; payloadSizeBytes: number; metadataSizeBytes: number };
    vectorize?: { dimensions: number; vectorsCount: number };
  };
}

export type ChatRole = "system" | "developer" | "user" | "assistant" | "tool";

export type ContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } }
  | { type: "file"; file: { filename: string; file_data?: string; file_id?: string } };

export interface ChatMessage {
  role: ChatRole;
  content: string | null | ContentPart[];
}

export type CacheThreshold =
  | "super_strict_match"
  | "close_enough"
  | "flexible_friend"
  | "anything_goes";
export type RetrievalType = "vector" | "keyword" | "hybrid";
export type KeywordMatchMode = "and" | "or";
export type BoostDirection = "asc" | "desc" | "exists" | "not_exists";

export interface RetrievalOptions {
  retrieval_type?: RetrievalType;
  fusion_method?: FusionMethod;
  keyword_match_mode?: KeywordMatchMode;
  match_threshold?: number;
  max_num_results?: number;
  context_expansion?: number;
  filters?: JsonObject;
  /** Chunks without their text: what matched, and its metadata. */
  metadata_only?: boolean;
  return_on_failure?: boolean;
  boost_by?: { field: string; direction?: BoostDirection }[];
}

export interface AiSearchOptions {
  /** Required on the namespace endpoints, absent on the instance endpoints. */
  instance_ids?: string[];
  cache?: { enabled?: boolean; cache_threshold?: CacheThreshold };
  query_rewrite?: { enabled?: boolean; model?: string; rewrite_prompt?: string };
  reranking?: { enabled?: boolean; match_threshold?: number; model?: string };
  retrieval?: RetrievalOptions;
}

export interface ChatCompletionRequest {
  messages: ChatMessage[];
  model?: string;
  stream?: boolean;
  ai_search_options?: AiSearchOptions;
}

/** The search endpoints take `messages` or `query`, never both. */
export interface SearchRequest {
  messages?: ChatMessage[];
  query?: string;
  ai_search_options?: AiSearchOptions;
}

export interface ScoringDetails {
  fusion_method?: FusionMethod;
  keyword_rank?: number;
  keyword_score?: number;
  reranking_score?: number;
  vector_rank?: number;
  vector_score?: number;
}

export interface Chunk {
  id: string;
  instance_id: string;
  score: number;
  text: string;
  type: string;
  item?: { key: string; metadata?: JsonObject; timestamp?: number };
  scoring_details?: ScoringDetails;
}

/** A per-instance failure; the other instances still answer. */
export interface InstanceError {
  instance_id: string;
  message: string;
}

export interface ChatCompletionChoice {
  index?: number;
  message: ChatMessage;
  finish_reason?: string | null;
}

/** Non-streaming chat completion: returned at the top level, not in the envelope. */
export interface ChatCompletionResponse {
  id?: string;
  object?: string;
  model?: string;
  created?: number;
  choices: ChatCompletionChoice[];
  chunks: Chunk[];
  errors?: InstanceError[];
}

export interface SearchResult {
  chunks: Chunk[];
  errors?: InstanceError[];
  search_query?: string;
  query_kind?: "text" | "image" | "multimodal";
}

/** One `data:` frame of a streamed completion (OpenAI's chat.completion.chunk). */
export interface ChatCompletionDeltaFrame {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices: {
    index?: number;
    delta: { role?: ChatRole; content?: string | null };
    finish_reason?: string | null;
  }[];
}

/**
 * What a streamed completion yields, in order: one `chunks` event, any number of `delta`
 * events, then exactly one `done` (only when the upstream sent `[DONE]`).
 */
export type StreamEvent =
  | { type: "chunks"; chunks: Chunk[]; errors?: InstanceError[] }
  | {
      type: "delta";
      /** 0-based position of this delta in the stream, so consumers can detect gaps. */
      sequence: number;
      content: string;
      finishReason: string | null;
      id?: string;
      model?: string;
      created?: number;
    }
  | { type: "done" };
