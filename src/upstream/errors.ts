/**
 * Typed failures of the AI Search REST client.
 *
 * Every message here is generic on purpose: the gateway may log `message`, and a message built
 * from upstream text or caller input could leak secrets or smuggle control characters into logs.
 * Upstream detail (Cloudflare error codes/messages) stays on dedicated properties for logging;
 * the gateway never sends those to its own clients. No error created here carries credentials,
 * not even in `cause`.
 */

/** Where in the exchange a timeout fired. */
export type TimeoutPhase = "connect" | "headers" | "idle" | "deadline";

/** Why a response could not be understood. */
export type ProtocolFailure =
  | "malformed-json"
  | "body-too-large"
  | "unexpected-shape"
  | "unexpected-content-type"
  | "malformed-sse"
  | "missing-done"
  | "sse-out-of-order"
  | "sse-error-event"
  | "truncated-body";

/**
 * Every `UpstreamError.code`. Stable and machine-readable: the gateway maps each to what its
 * own clients see (`describeError` in src/graphql-errors.ts), and must map every one.
 */
export type UpstreamErrorCode =
  | "UPSTREAM_HTTP_ERROR"
  | "UPSTREAM_REDIRECT"
  | "UPSTREAM_BAD_REQUEST"
  | "UPSTREAM_UNAUTHENTICATED"
  | "UPSTREAM_FORBIDDEN"
  | "UPSTREAM_NOT_FOUND"
  | "UPSTREAM_REQUEST_TIMEOUT"
  | "UPSTREAM_CONFLICT"
  | "UPSTREAM_PAYLOAD_TOO_LARGE"
  | "UPSTREAM_RATE_LIMITED"
  | "UPSTREAM_SERVER_ERROR"
  | "UPSTREAM_API_ERROR"
  | "UPSTREAM_TIMEOUT"
  | "UPSTREAM_NETWORK_ERROR"
  | "UPSTREAM_PROTOCOL_ERROR"
  | "UPSTREAM_ABORTED"
  | "UPSTREAM_CIRCUIT_OPEN"
  // Management refusals told apart by their Cloudflare error code (see cloudflare-codes.ts).
  | "UPSTREAM_NAME_TAKEN"
  | "UPSTREAM_NAMESPACE_NOT_EMPTY"
  | "UPSTREAM_DEFAULT_NAMESPACE"
  | "UPSTREAM_SYNC_COOLDOWN"
  | "UPSTREAM_FILE_TOO_LARGE"
  | "UPSTREAM_LIMIT_REACHED"
  | "INVALID_NAME"
  | "INVALID_CREDENTIALS"
  | "MISSING_CREDENTIALS"
  | "INVALID_ARGUMENT";

export interface CloudflareErrorDetail {
  code: number;
  message: string;
}

export interface UpstreamErrorOptions {
  status?: number;
  cause?: unknown;
}

export class UpstreamError extends Error {
  /** Stable, machine-readable identifier; safe to expose to the gateway's clients. */
  readonly code: UpstreamErrorCode;
  /** Whether the failure is transient in principle; the retry policy decides per call kind. */
  readonly retryable: boolean;
  readonly status?: number;
  /** Client method that failed, e.g. `listInstances` (set by the client, for logs). */
  operation?: string;
  /** Requests sent for this call, retries included (set by the client). */
  attempts?: number;

  constructor(
    code: UpstreamErrorCode,
    message: string,
    retryable: boolean,
    options?: UpstreamErrorOptions,
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
    if (options?.status !== undefined) this.status = options.status;
  }
}

export interface HttpErrorInit {
  /** The envelope's `errors`, reduced to code and message; for logs only. */
  cloudflareErrors?: CloudflareErrorDetail[];
  /** From `retry-after-ms` / `Retry-After`, already converted to a delay from now. */
  retryAfterMs?: number;
  /** The upstream's `x-should-retry` verdict, when it sent one. */
  shouldRetry?: boolean;
  /** Cloudflare's `cf-ray`, to correlate with Cloudflare support. */
  ray?: string;
}

/** The upstream answered with a status we do not treat as success. */
export class UpstreamHttpError extends UpstreamError {
  override readonly status: number;
  readonly cloudflareErrors: CloudflareErrorDetail[];
  readonly retryAfterMs?: number;
  readonly shouldRetry?: boolean;
  readonly ray?: string;

  constructor(
    status: number,
    init: HttpErrorInit = {},
    code: UpstreamErrorCode = "UPSTREAM_HTTP_ERROR",
    retryable = false,
  ) {
    super(code, `AI Search upstream answered HTTP ${status}`, retryable, { status });
    this.status = status;
    this.cloudflareErrors = init.cloudflareErrors ?? [];
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.shouldRetry !== undefined) this.shouldRetry = init.shouldRetry;
    if (init.ray !== undefined) this.ray = init.ray;
  }
}

/**
 * A 3xx. Redirects are never followed: the request carries the caller's credentials, and a
 * `Location` pointing elsewhere would hand them to another host.
 */
export class UpstreamRedirectError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_REDIRECT", false);
  }
}
export class UpstreamBadRequestError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_BAD_REQUEST", false);
  }
}
export class UpstreamUnauthenticatedError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_UNAUTHENTICATED", false);
  }
}
export class UpstreamForbiddenError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_FORBIDDEN", false);
  }
}
export class UpstreamNotFoundError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_NOT_FOUND", false);
  }
}
export class UpstreamRequestTimeoutError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_REQUEST_TIMEOUT", true);
  }
}
export class UpstreamConflictError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_CONFLICT", false);
  }
}
export class UpstreamPayloadTooLargeError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_PAYLOAD_TOO_LARGE", false);
  }
}
export class UpstreamRateLimitedError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_RATE_LIMITED", true);
  }
}
export class UpstreamServerError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_SERVER_ERROR", true);
  }
}
/** A 2xx envelope with `success: false`. */
export class UpstreamApiError extends UpstreamHttpError {
  constructor(status: number, init?: HttpErrorInit) {
    super(status, init, "UPSTREAM_API_ERROR", false);
  }
}

type HttpErrorClass = new (status: number, init?: HttpErrorInit) => UpstreamHttpError;

const BY_STATUS: Record<number, HttpErrorClass> = {
  400: UpstreamBadRequestError,
  401: UpstreamUnauthenticatedError,
  403: UpstreamForbiddenError,
  404: UpstreamNotFoundError,
  408: UpstreamRequestTimeoutError,
  409: UpstreamConflictError,
  413: UpstreamPayloadTooLargeError,
  429: UpstreamRateLimitedError,
};

/** The typed error for a non-success HTTP status. */
export function errorFromStatus(status: number, init?: HttpErrorInit): UpstreamHttpError {
  const specific = BY_STATUS[status];
  if (specific) return new specific(status, init);
  if (status >= 300 && status < 400) return new UpstreamRedirectError(status, init);
  if (status >= 500 && status < 600) return new UpstreamServerError(status, init);
  if (status >= 200 && status < 300) return new UpstreamApiError(status, init);
  return new UpstreamHttpError(status, init);
}

export class UpstreamTimeoutError extends UpstreamError {
  readonly phase: TimeoutPhase;
  readonly timeoutMs?: number;

  constructor(phase: TimeoutPhase, timeoutMs?: number, options?: UpstreamErrorOptions) {
    super("UPSTREAM_TIMEOUT", `AI Search upstream timed out (${phase})`, true, options);
    this.phase = phase;
    if (timeoutMs !== undefined) this.timeoutMs = timeoutMs;
  }
}

export class UpstreamNetworkError extends UpstreamError {
  /** The system or undici error code, e.g. `ECONNREFUSED`, `UND_ERR_SOCKET`. */
  readonly networkCode: string;
  /**
   * True when the failure happened while connecting, so the upstream cannot have seen the
   * request; that is what makes a non-idempotent call safe to retry.
   */
  readonly beforeSend: boolean;

  constructor(networkCode: string, beforeSend: boolean, options?: UpstreamErrorOptions) {
    super(
      "UPSTREAM_NETWORK_ERROR",
      `AI Search upstream connection failed (${networkCode})`,
      true,
      options,
    );
    this.networkCode = networkCode;
    this.beforeSend = beforeSend;
  }
}

export class UpstreamProtocolError extends UpstreamError {
  readonly reason: ProtocolFailure;

  constructor(reason: ProtocolFailure, options?: UpstreamErrorOptions) {
    super(
      "UPSTREAM_PROTOCOL_ERROR",
      `AI Search upstream sent an invalid response (${reason})`,
      false,
      options,
    );
    this.reason = reason;
  }
}

/** The caller's `AbortSignal` fired. */
export class UpstreamAbortedError extends UpstreamError {
  constructor() {
    super("UPSTREAM_ABORTED", "AI Search upstream call aborted by the caller", false);
  }
}

export type NameKind = "account" | "namespace" | "instance" | "item" | "job";

/** A name that must not reach an upstream URL. The offending value is deliberately not kept. */
export class InvalidNameError extends UpstreamError {
  readonly kind: NameKind;

  constructor(kind: NameKind, rule: string) {
    super("INVALID_NAME", `Invalid ${kind} name: it must match ${rule}`, false);
    this.kind = kind;
  }
}

/**
 * Credentials that cannot be sent: malformed (`INVALID_CREDENTIALS`), or none at all
 * (`MISSING_CREDENTIALS`, with `field` "missing"), which is the operator's problem, not the
 * caller's.
 */
export class InvalidCredentialsError extends UpstreamError {
  /** Which part was wrong (`token`, `email`, `key`, `kind`, or `missing`), never its value. */
  readonly field: string;

  constructor(field: string) {
    super(
      field === "missing" ? "MISSING_CREDENTIALS" : "INVALID_CREDENTIALS",
      field === "missing"
        ? "No AI Search credentials were configured or passed for this call"
        : `Invalid AI Search credentials: malformed ${field}`,
      false,
    );
    this.field = field;
  }
}

/** A parameter (page, perPage, search, requestId, …) the client refuses to send. */
export class InvalidArgumentError extends UpstreamError {
  readonly argument: string;

  constructor(argument: string, expectation: string) {
    super("INVALID_ARGUMENT", `Invalid argument ${argument}: ${expectation}`, false);
    this.argument = argument;
  }
}
