import { GraphQLError } from "graphql";
import { ErrorCode } from "./error-codes.ts";
import { UpstreamError, type UpstreamErrorCode, UpstreamHttpError } from "./upstream/errors.ts";

export function badUserInput(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, ...(field ? { field } : {}) },
  });
}

export function notFound(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.NOT_FOUND } });
}

/**
 * What an upstream call acts on: the namespace, and the instance when the call names one. Both
 * are validated slugs by the time a call is made, so they are safe to repeat in a message.
 */
export interface UpstreamTarget {
  namespace: string;
  instance?: string;
}

/** NOT_FOUND for a call whose target does not exist, saying which one. */
export function targetNotFound({ namespace, instance }: UpstreamTarget): GraphQLError {
  return notFound(
    instance === undefined
      ? `AI Search has no namespace "${namespace}".`
      : `AI Search has no instance "${instance}" in namespace "${namespace}".`,
  );
}

/**
 * Runs an upstream call that acts on `target` (a search, a completion, a change), turning the
 * upstream's 404 into a NOT_FOUND that names what is missing. Lookups by key do not use this:
 * a key that matches nothing is `null` there, with no error.
 */
export async function onTarget<T>(target: UpstreamTarget, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof UpstreamError && error.code === "UPSTREAM_NOT_FOUND") {
      throw targetNotFound(target);
    }
    throw error;
  }
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

interface Mapping {
  code: ErrorCode;
  /**
   * The fixed message a client sees. Unset only where the client's own message is safe by
   * construction: built from fixed templates and rule descriptions, never from input or upstream
   * text (see src/upstream/errors.ts).
   */
  message?: string;
  /** Pass the upstream's `Retry-After` on as `retryAfterMs`. */
  retryAfter?: true;
}

const UNAVAILABLE: Mapping = {
  code: ErrorCode.UPSTREAM_UNAVAILABLE,
  message: "AI Search is unavailable right now.",
};
const TIMEOUT: Mapping = {
  code: ErrorCode.UPSTREAM_TIMEOUT,
  message: "AI Search did not answer in time.",
};
const BAD_RESPONSE: Mapping = {
  code: ErrorCode.UPSTREAM_BAD_RESPONSE,
  message: "AI Search sent a response the gateway cannot use.",
};
const AUTH_REFUSED: Mapping = {
  code: ErrorCode.UPSTREAM_AUTH_FAILED,
  message: "AI Search refused the gateway's credentials.",
};
const FAILED: Mapping = { code: ErrorCode.UPSTREAM_ERROR, message: "AI Search failed to answer." };

/**
 * What a client learns of each upstream failure, by the failure's stable code. Typed as a
 * record over every code, so a new upstream code cannot ship unmapped.
 */
const BY_UPSTREAM_CODE: Record<UpstreamErrorCode, Mapping> = {
  INVALID_NAME: { code: ErrorCode.BAD_USER_INPUT },
  INVALID_ARGUMENT: { code: ErrorCode.BAD_USER_INPUT },
  INVALID_CREDENTIALS: {
    code: ErrorCode.UNAUTHENTICATED,
    message: "The AI Search credentials given are malformed.",
  },
  MISSING_CREDENTIALS: {
    code: ErrorCode.UPSTREAM_AUTH_FAILED,
    message: "The gateway has no AI Search credentials.",
  },
  UPSTREAM_ABORTED: { code: ErrorCode.REQUEST_ABORTED, message: "The request was cancelled." },
  UPSTREAM_TIMEOUT: TIMEOUT,
  UPSTREAM_REQUEST_TIMEOUT: TIMEOUT,
  UPSTREAM_NETWORK_ERROR: UNAVAILABLE,
  UPSTREAM_SERVER_ERROR: UNAVAILABLE,
  UPSTREAM_CIRCUIT_OPEN: UNAVAILABLE,
  UPSTREAM_RATE_LIMITED: {
    code: ErrorCode.RATE_LIMITED,
    message: "AI Search is rate limiting requests; retry later.",
    retryAfter: true,
  },
  UPSTREAM_NOT_FOUND: {
    code: ErrorCode.NOT_FOUND,
    message: "AI Search has no such namespace or instance.",
  },
  UPSTREAM_UNAUTHENTICATED: AUTH_REFUSED,
  UPSTREAM_FORBIDDEN: AUTH_REFUSED,
  UPSTREAM_BAD_REQUEST: {
    code: ErrorCode.BAD_USER_INPUT,
    message: "AI Search rejected the request as invalid.",
  },
  UPSTREAM_PROTOCOL_ERROR: BAD_RESPONSE,
  UPSTREAM_REDIRECT: BAD_RESPONSE,
  UPSTREAM_NAME_TAKEN: {
    code: ErrorCode.NAME_TAKEN,
    message: "That name is already taken.",
  },
  UPSTREAM_NAMESPACE_NOT_EMPTY: {
    code: ErrorCode.NAMESPACE_NOT_EMPTY,
    message: "The namespace still has instances; delete or move them first.",
  },
  UPSTREAM_DEFAULT_NAMESPACE: {
    code: ErrorCode.DEFAULT_NAMESPACE,
    message: "The default namespace cannot be created, deleted or have its description changed.",
  },
  UPSTREAM_SYNC_COOLDOWN: {
    code: ErrorCode.SYNC_TOO_SOON,
    message: "The instance synced too recently; retry later.",
    retryAfter: true,
  },
  UPSTREAM_FILE_TOO_LARGE: {
    code: ErrorCode.FILE_TOO_LARGE,
    message: "The file is larger than AI Search accepts.",
  },
  UPSTREAM_LIMIT_REACHED: {
    code: ErrorCode.LIMIT_REACHED,
    message: "The account has reached its AI Search limit of namespaces or instances.",
  },
  UPSTREAM_CONFLICT: FAILED,
  UPSTREAM_PAYLOAD_TOO_LARGE: FAILED,
  UPSTREAM_API_ERROR: FAILED,
  UPSTREAM_HTTP_ERROR: FAILED,
};

/**
 * What a client may learn about a failure: a coded GraphQL error as it is, an upstream failure
 * through the table above, anything else as `INTERNAL_SERVER_ERROR`. Upstream bodies,
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
  const mapping: Mapping = BY_UPSTREAM_CODE[error.code] ?? FAILED;
  const described: ClientFacing = {
    code: mapping.code,
    message: mapping.message ?? error.message,
    retryable: error.retryable,
  };
  if (
    mapping.retryAfter &&
    error instanceof UpstreamHttpError &&
    error.retryAfterMs !== undefined
  ) {
    described.retryAfterMs = error.retryAfterMs;
  }
  return described;
}

/** The GraphQL error a client sees for any failure; see {@link describeError}. */
export function toClientError(error: unknown): GraphQLError {
  if (isGraphQLError(error) && typeof error.extensions?.code === "string") return error;
  const { code, message, retryable, retryAfterMs } = describeError(error);
  return new GraphQLError(message, {
    extensions: { code, retryable, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
  });
}
