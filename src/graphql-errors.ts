import { GraphQLError } from "graphql";
import { UpstreamCircuitOpenError } from "./upstream/circuit.ts";
import {
  InvalidArgumentError,
  InvalidCredentialsError,
  InvalidNameError,
  UpstreamAbortedError,
  UpstreamBadRequestError,
  UpstreamError,
  UpstreamForbiddenError,
  UpstreamNetworkError,
  UpstreamNotFoundError,
  UpstreamProtocolError,
  UpstreamRateLimitedError,
  UpstreamRedirectError,
  UpstreamRequestTimeoutError,
  UpstreamServerError,
  UpstreamTimeoutError,
  UpstreamUnauthenticatedError,
} from "./upstream/errors.ts";

/**
 * The `extensions.code` values clients can rely on. Stable: renaming one is a breaking change.
 * Upstream failures are translated to these by `describeError` below, used by the masking in
 * `src/server/errors.ts` and by the stream relay.
 */
export const ErrorCode = {
  BAD_USER_INPUT: "BAD_USER_INPUT",
  NOT_FOUND: "NOT_FOUND",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  RATE_LIMITED: "RATE_LIMITED",
  TOO_MANY_SUBSCRIPTIONS: "TOO_MANY_SUBSCRIPTIONS",
  UPSTREAM_AUTH_FAILED: "UPSTREAM_AUTH_FAILED",
  UPSTREAM_TIMEOUT: "UPSTREAM_TIMEOUT",
  UPSTREAM_UNAVAILABLE: "UPSTREAM_UNAVAILABLE",
  UPSTREAM_BAD_RESPONSE: "UPSTREAM_BAD_RESPONSE",
  UPSTREAM_ERROR: "UPSTREAM_ERROR",
  REQUEST_ABORTED: "REQUEST_ABORTED",
  /** The gateway is draining for a restart; retry, on a new connection. */
  SHUTTING_DOWN: "SHUTTING_DOWN",
  STREAM_LIMIT_EXCEEDED: "STREAM_LIMIT_EXCEEDED",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function badUserInput(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, ...(field ? { field } : {}) },
  });
}

export function notFound(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.NOT_FOUND } });
}

/**
 * A name check rather than `instanceof`: graphql ships CommonJS and ES module builds, and a
 * tool that loads both (test runners, bundlers) makes two GraphQLError classes; an error from
 * either must keep its code.
 */
export function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === "GraphQLError";
}

/** Resolvers and loaders may wrap the real failure; the innermost error is what happened. */
export function innermostError(error: unknown): unknown {
  let current = error;
  while (isGraphQLError(current) && current.originalError) current = current.originalError;
  return current;
}

interface ClientFacing {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
}

/**
 * What a client may learn about a failure. Messages are fixed per class: upstream bodies,
 * Cloudflare error texts and credentials stay in the logs.
 */
export function describeError(error: unknown): ClientFacing {
  if (isGraphQLError(error) && typeof error.extensions?.code === "string") {
    return {
      code: error.extensions.code as ErrorCode,
      message: error.message,
      retryable: error.extensions.retryable === true,
    };
  }
  if (!(error instanceof UpstreamError)) {
    return {
      code: ErrorCode.INTERNAL_SERVER_ERROR,
      message: "Unexpected error.",
      retryable: false,
    };
  }
  const safe = (code: ErrorCode, message: string) => ({
    code,
    message,
    retryable: error.retryable,
  });
  if (error instanceof InvalidNameError || error instanceof InvalidArgumentError) {
    return safe(ErrorCode.BAD_USER_INPUT, error.message);
  }
  if (error instanceof InvalidCredentialsError) {
    return error.field === "missing"
      ? safe(ErrorCode.UPSTREAM_AUTH_FAILED, "The gateway has no AI Search credentials.")
      : safe(ErrorCode.UNAUTHENTICATED, "The AI Search credentials given are malformed.");
  }
  if (error instanceof UpstreamAbortedError) {
    return safe(ErrorCode.REQUEST_ABORTED, "The request was cancelled.");
  }
  if (error instanceof UpstreamTimeoutError || error instanceof UpstreamRequestTimeoutError) {
    return safe(ErrorCode.UPSTREAM_TIMEOUT, "AI Search did not answer in time.");
  }
  if (
    error instanceof UpstreamNetworkError ||
    error instanceof UpstreamServerError ||
    error instanceof UpstreamCircuitOpenError
  ) {
    return safe(ErrorCode.UPSTREAM_UNAVAILABLE, "AI Search is unavailable right now.");
  }
  if (error instanceof UpstreamRateLimitedError) {
    return {
      ...safe(ErrorCode.RATE_LIMITED, "AI Search is rate limiting requests; retry later."),
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    };
  }
  if (error instanceof UpstreamNotFoundError) {
    return safe(ErrorCode.NOT_FOUND, "AI Search has no such namespace or instance.");
  }
  if (error instanceof UpstreamUnauthenticatedError || error instanceof UpstreamForbiddenError) {
    return safe(ErrorCode.UPSTREAM_AUTH_FAILED, "AI Search refused the gateway's credentials.");
  }
  if (error instanceof UpstreamBadRequestError) {
    return safe(ErrorCode.BAD_USER_INPUT, "AI Search rejected the request as invalid.");
  }
  if (error instanceof UpstreamProtocolError || error instanceof UpstreamRedirectError) {
    return safe(
      ErrorCode.UPSTREAM_BAD_RESPONSE,
      "AI Search sent a response the gateway cannot use.",
    );
  }
  return safe(ErrorCode.UPSTREAM_ERROR, "AI Search failed to answer.");
}

/** The GraphQL error a client sees for any failure; see {@link describeError}. */
export function toClientError(error: unknown): GraphQLError {
  if (isGraphQLError(error) && typeof error.extensions?.code === "string") return error;
  const { code, message, retryable, retryAfterMs } = describeError(error);
  return new GraphQLError(message, {
    extensions: { code, retryable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
  });
}
