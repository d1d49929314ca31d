/**
 * Every `extensions.code` a client of the gateway can see, in one place. Stable: renaming one
 * is a breaking change, and README's "Errors" table lists exactly these (a test holds the two
 * together). Codes raised by Yoga, graphql-ws or GraphQL Armor are here too, so code that
 * refers to them names them from here.
 */
export const ErrorCode = {
  /** Invalid names, empty messages, out-of-range options, upstream 400. */
  BAD_USER_INPUT: "BAD_USER_INPUT",
  /** The document or its variables are invalid (Yoga, graphql-ws). */
  GRAPHQL_VALIDATION_FAILED: "GRAPHQL_VALIDATION_FAILED",
  /** The document does not parse (Yoga, graphql-ws). */
  GRAPHQL_PARSE_FAILED: "GRAPHQL_PARSE_FAILED",
  /** No operation of the document matches `operationName` (Yoga; the gateway over graphql-ws). */
  OPERATION_RESOLUTION_FAILURE: "OPERATION_RESOLUTION_FAILURE",
  /**
   * A search, completion or change acting on a namespace or instance that does not exist (the
   * message names it). Lookups by key (`namespace`, `instance`, `node`, `_entities`) answer
   * `null` instead.
   */
  NOT_FOUND: "NOT_FOUND",
  /** Missing or invalid client credentials or pass-through token (HTTP 401). */
  UNAUTHENTICATED: "UNAUTHENTICATED",
  /** A subscription over the per-connection or per-client cap. */
  TOO_MANY_SUBSCRIPTIONS: "TOO_MANY_SUBSCRIPTIONS",
  /** The gateway (HTTP 429) or the upstream rate limits (`extensions.retryAfterMs` when known). */
  RATE_LIMITED: "RATE_LIMITED",
  /** An operation over a depth, alias, directive, token or cost limit (HTTP 400). */
  OPERATION_LIMIT_EXCEEDED: "OPERATION_LIMIT_EXCEEDED",
  /** An unknown persisted document id (HTTP 400). */
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
  /** Document text while trusted documents are enforced (HTTP 400). */
  PERSISTED_QUERY_ONLY: "PERSISTED_QUERY_ONLY",
  /** A POST a browser could send cross-site without a preflight (HTTP 403). */
  CSRF_PREVENTED: "CSRF_PREVENTED",
  /** A body over `MAX_BODY_BYTES`, a multipart upload over `MAX_UPLOAD_BYTES` or `MAX_UPLOAD_FILES` (HTTP 413). */
  REQUEST_ENTITY_TOO_LARGE: "REQUEST_ENTITY_TOO_LARGE",
  /** More than `MAX_HEADERS` request headers (HTTP 431). */
  REQUEST_HEADER_FIELDS_TOO_LARGE: "REQUEST_HEADER_FIELDS_TOO_LARGE",
  /** A malformed request: bad JSON or parameters, a mutation over GET (405). */
  BAD_REQUEST: "BAD_REQUEST",
  /** The upstream refused the credentials (the caller's, in pass-through mode). */
  UPSTREAM_AUTH_FAILED: "UPSTREAM_AUTH_FAILED",
  /** The upstream did not answer in time. */
  UPSTREAM_TIMEOUT: "UPSTREAM_TIMEOUT",
  /** The upstream is down or unreachable, or its circuit is open after repeated failures. */
  UPSTREAM_UNAVAILABLE: "UPSTREAM_UNAVAILABLE",
  /** A streamed answer ran past `STREAM_MAX_CHARS` or `STREAM_MAX_DURATION_MS` (failure event). */
  STREAM_LIMIT_EXCEEDED: "STREAM_LIMIT_EXCEEDED",
  /** `resumeChatCompletionStream`: no such stream, it expired, or it is another client's. */
  STREAM_NOT_FOUND: "STREAM_NOT_FOUND",
  /** Resuming or cancelling a stream needs shared state (Redis) that is unreachable; retryable. */
  RESUME_UNAVAILABLE: "RESUME_UNAVAILABLE",
  /** `cancelChatCompletionStream` stopped the stream (its last event). */
  CANCELLED: "CANCELLED",
  /** The gateway is draining for a restart: last event of a live stream, or HTTP 503; retryable. */
  SHUTTING_DOWN: "SHUTTING_DOWN",
  /** The upstream sent something unusable (malformed JSON or SSE, redirect). */
  UPSTREAM_BAD_RESPONSE: "UPSTREAM_BAD_RESPONSE",
  /** Any other upstream failure. */
  UPSTREAM_ERROR: "UPSTREAM_ERROR",
  /** The caller's scopes do not include the one a root field needs (HTTP 403). */
  FORBIDDEN: "FORBIDDEN",
  /** A namespace name, instance id or item key is already in use (also a payload user error). */
  NAME_TAKEN: "NAME_TAKEN",
  /** A namespace that still has instances cannot be deleted (also a payload user error). */
  NAMESPACE_NOT_EMPTY: "NAMESPACE_NOT_EMPTY",
  /** The `default` namespace cannot be created, deleted or renamed (also a payload user error). */
  DEFAULT_NAMESPACE: "DEFAULT_NAMESPACE",
  /** A sync started too soon after the last one (`retryAfterMs`; also a payload user error). */
  SYNC_TOO_SOON: "SYNC_TOO_SOON",
  /** An uploaded file over the upstream's item size limit (also a payload user error). */
  FILE_TOO_LARGE: "FILE_TOO_LARGE",
  /** The account has as many namespaces or instances as it may (also a payload user error). */
  LIMIT_REACHED: "LIMIT_REACHED",
  /** The caller went away before the answer (seen in logs, not by that caller). */
  REQUEST_ABORTED: "REQUEST_ABORTED",
  /** Anything unexpected (logged, never detailed). */
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
