/**
 * Wire types of the AI Search management endpoints: namespaces, instances, items and jobs (see
 * docs/aisearch-management-api.md), as the upstream sends and receives them (snake_case). The
 * search and chat shapes are in types.ts.
 */

import type {
  BoostDirection,
  CacheThreshold,
  CustomMetadataType,
  FusionMethod,
  InstanceType,
  JsonObject,
  KeywordMatchMode,
} from "./types.ts";

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
