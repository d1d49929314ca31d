/**
 * Refusals of the management API that the graph must tell apart, recognised by the Cloudflare
 * error code in the envelope (docs/aisearch-management-api.md) rather than by the HTTP status
 * alone: a 400 may mean "the default namespace cannot change" or "that namespace still has
 * instances", and a 403 "account limit reached" is not a credentials problem.
 */
import { errorFromStatus, type HttpErrorInit, UpstreamHttpError } from "./errors.ts";

/** A namespace name, an instance id in its namespace, or an item key is already in use. */
export class UpstreamNameTakenError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_NAME_TAKEN", false);
  }
}
/** The namespace still has instances, so it cannot be deleted. */
export class UpstreamNamespaceNotEmptyError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_NAMESPACE_NOT_EMPTY", false);
  }
}
/** `default` cannot be created, deleted or have its description changed. */
export class UpstreamDefaultNamespaceError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_DEFAULT_NAMESPACE", false);
  }
}
/**
 * A user sync started too soon after the previous one (429). Not retried: the cooldown is
 * Cloudflare's 30 s, and the caller should decide whether to wait (`retryAfterMs`).
 */
export class UpstreamSyncCooldownError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_SYNC_COOLDOWN", false);
  }
}
/** The uploaded file is over the upstream's item size limit (413). */
export class UpstreamFileTooLargeError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_FILE_TOO_LARGE", false);
  }
}
/** The account has as many namespaces or instances as it may (403). */
export class UpstreamLimitReachedError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_LIMIT_REACHED", false);
  }
}

type Refusal = new (status: number, init?: HttpErrorInit) => UpstreamHttpError;

/** Cloudflare's error codes (docs/aisearch-management-api.md, "Errors") → the typed refusal. */
const BY_CLOUDFLARE_CODE: ReadonlyMap<number, Refusal> = new Map<number, Refusal>([
  [7064, UpstreamNameTakenError], // namespace_already_exists
  [7022, UpstreamNameTakenError], // ai_search_with_this_name_already_exist (create, move)
  [7042, UpstreamNameTakenError], // item_key_already_exist
  [7066, UpstreamNamespaceNotEmptyError], // namespace_not_empty
  [7065, UpstreamDefaultNamespaceError], // cannot_modify_default_namespace
  [7020, UpstreamSyncCooldownError], // sync_in_cooldown
  [7054, UpstreamFileTooLargeError], // file_exceeds_maximum_size
  [7062, UpstreamLimitReachedError], // max_namespaces_reached
  [7013, UpstreamLimitReachedError], // max_instances_reached
]);

/**
 * The typed error of a refused call: by the first Cloudflare error code that names a refusal
 * above, else by HTTP status ({@link errorFromStatus}).
 */
export function errorFromResponse(status: number, init: HttpErrorInit = {}): UpstreamHttpError {
  if (status >= 400) {
    for (const { code } of init.cloudflareErrors ?? []) {
      const refusal = BY_CLOUDFLARE_CODE.get(code);
      if (refusal) return new refusal(status, init);
    }
  }
  return errorFromStatus(status, init);
}
