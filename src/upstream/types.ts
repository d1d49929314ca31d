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

// ---------------------------------------------------------------------------------------------
// Management: namespaces, instances, items and jobs (see docs/aisearch-management-api.md).
// ---------------------------------------------------------------------------------------------

/** A namespace's public endpoint; replaced whole on every update. */
export interface PublicEndpointParams {
  enabled?: boolean;
  /** Existing instance ids of the namespace searchable through the endpoint (at most 10). */
  instances_allowed?: string[];
  authorized_hosts?: string[];
  custom_domains?: string[] | null;
  default_domain_enabled?: boolean;
  chat_completions_endpoint?: { disabled?: boolean };
  search_endpoint?: { disabled?: boolean };
  mcp?: { description?: string; disabled?: boolean };
  rate_limit?: { period_ms?: number; requests?: number; technique?: "fixed" | "sliding" };
}

/** `POST /namespaces`. */
export interface NamespaceCreateRequest {
  name: string;
  description?: string | null;
  public_endpoint_params?: PublicEndpointParams;
}

/** `PUT /namespaces/{name}`; `default` accepts only `public_endpoint_params`. */
export interface NamespaceUpdateRequest {
  description?: string | null;
  public_endpoint_params?: PublicEndpointParams | null;
}

/** Settings accepted by instance create and update (the subset the gateway sends). */
export interface InstanceSettingsRequest {
  ai_search_model?: string | null;
  embedding_model?: string | null;
  chunk?: boolean;
  chunk_size?: number;
  chunk_overlap?: number;
  max_num_results?: number;
  score_threshold?: number;
  fusion_method?: FusionMethod;
  index_method?: { keyword?: boolean; vector?: boolean };
  retrieval_options?: {
    keyword_match_mode?: KeywordMatchMode;
    boost_by?: { field: string; direction?: BoostDirection }[];
  } | null;
  custom_metadata?: { field_name: string; data_type: CustomMetadataType }[];
  reranking?: boolean;
  reranking_model?: string | null;
  rewrite_query?: boolean;
  rewrite_model?: string | null;
  cache?: boolean;
  cache_threshold?: CacheThreshold;
  cache_ttl?: number;
  sync_interval?: number;
  /** Omitted (with `source`) for managed, upload-only storage. */
  type?: InstanceType | null;
  source?: string | null;
}

/** `POST /namespaces/{name}/instances`. */
export interface InstanceCreateRequest extends InstanceSettingsRequest {
  id: string;
}

/** `PUT /namespaces/{name}/instances/{id}`. */
export interface InstanceUpdateRequest extends InstanceSettingsRequest {
  paused?: boolean;
}

/** `PATCH /namespaces/{name}/instances/{id}`: moves the instance to another namespace. */
export interface InstanceMoveRequest {
  new_namespace: string;
}

export type ItemStatus = "queued" | "running" | "completed" | "error" | "skipped" | "outdated";
export type ItemNextAction = "INDEX" | "DELETE";

/** One indexed file of an instance. Items are addressed by `id`; `key` is the file name/path. */
export interface Item {
  id: string;
  key: string;
  status: ItemStatus;
  /** Processing error, `type: detail` (e.g. `file_content_empty: ...`), when status is error or skipped. */
  error?: string;
  checksum: string;
  chunks_count: number | null;
  file_size: number | null;
  created_at: string;
  last_seen_at: string;
  /** Built-in (`folder`, `timestamp`, ...) and custom metadata. */
  metadata: { [key: string]: string | number | boolean } | null;
  namespace: string;
  next_action: ItemNextAction | null;
  /** `builtin` for uploaded files, `{type}:{source}` for external sources, null for legacy items. */
  source_id: string | null;
}

export type ItemUploadWarning =
  | { code: "custom_metadata_value_not_indexed"; field: string; expected_type: CustomMetadataType }
  | { code: "custom_metadata_field_not_filterable"; field: string };

/** What `POST .../items` (multipart upload) answers. */
export interface ItemUploadResult extends Item {
  warnings?: ItemUploadWarning[];
}

/** `GET .../items` query. */
export interface ItemListQuery {
  page?: number;
  per_page?: number;
  status?: ItemStatus;
  search?: string;
  key?: string;
  item_id?: string;
  source?: string;
  sort_by?: "status" | "modified_at";
  /** JSON-encoded metadata filter (Vectorize syntax). */
  metadata_filter?: string;
}

/** `PUT .../items`: (re)index the item with this key from the instance's source. No content. */
export interface ItemCreateOrUpdateRequest {
  key: string;
  next_action: "INDEX";
  wait_for_completion?: boolean;
}

/** `PATCH .../items/{item_id}`: index this one item again. */
export interface ItemSyncRequest {
  next_action: "INDEX";
  wait_for_completion?: boolean;
}

/** `DELETE .../items/{item_id}`. */
export interface ItemDeleteResult {
  key: string;
}

/** One entry of `GET .../items/{item_id}/chunks`. */
export interface ItemChunk {
  id: string;
  text: string;
  start_byte?: number;
  end_byte?: number;
  item: { key: string; metadata?: JsonObject; timestamp?: number };
}

/** One entry of `GET .../items/{item_id}/logs`; upstream spells these fields in camelCase. */
export interface ItemLog {
  action: string;
  chunkCount: number | null;
  errorType: string | null;
  fileKey: string;
  message: string | null;
  processingTimeMs: number | null;
  timestamp: string;
}

/** A sync run of an instance. No status field: it is running until `ended_at` is set. */
export interface Job {
  id: string;
  source: "user" | "schedule";
  description?: string;
  started_at?: string;
  last_seen_at?: string;
  ended_at?: string;
  end_reason?: string;
}

/** `POST .../jobs`. */
export interface JobCreateRequest {
  description?: string;
}

/** `PATCH .../jobs/{job_id}`. */
export interface JobUpdateRequest {
  action: "cancel";
}

/** One entry of `GET .../jobs/{job_id}/logs`. */
export interface JobLog {
  id: number;
  /** Epoch milliseconds (unit unconfirmed upstream; see the management API notes). */
  created_at: number;
  message: string;
  /** 1 info, 2 warning, 3 error (values unconfirmed upstream). */
  message_type: number;
}
