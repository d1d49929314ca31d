import { GraphQLError } from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import { authHeaders, type Credentials } from "../../upstream/auth.ts";
import { unauthenticatedResponse } from "../policy/client-auth.ts";
import { requestState } from "../request-state.ts";

export interface PassThroughOptions {
  /**
   * Header carrying the caller's own Cloudflare API token (the raw token, no scheme).
   * @default "x-cloudflare-api-token"
   */
  header?: string;
  /**
   * Only requests to this path can reach the upstream, so only they need the token.
   * @default "/graphql"
   */
  graphqlEndpoint?: string;
}

export type CallerToken = { ok: true; credentials: Credentials } | { ok: false };

/**
 * Accepts one well-formed token. The upstream client's own header rule decides what "well
 * formed" means (no CR/LF, control characters, spaces or commas; at most 1024 characters), so
 * a value refused here could never have been sent, and a value accepted here always can. A
 * repeated header arrives comma-joined and is refused by the same rule.
 */
export function callerTokenFrom(value: unknown): CallerToken {
  if (typeof value !== "string") return { ok: false };
  const credentials: Credentials = { kind: "token", token: value };
  try {
    authHeaders(credentials);
  } catch {
    return { ok: false };
  }
  return { ok: true, credentials };
}

/** The caller's token in `header` of `headers`, or why there is no usable one. */
export function callerTokenIn(
  headers: Headers,
  header: string,
): { ok: true; credentials: Credentials } | { ok: false; reason: "missing" | "invalid" } {
  const value = headers.get(header);
  if (value === null) return { ok: false, reason: "missing" };
  const token = callerTokenFrom(value);
  return token.ok ? token : { ok: false, reason: "invalid" };
}

export const PASS_THROUGH_MESSAGES = {
  missing: (header: string) =>
    `This gateway uses each caller's own Cloudflare API token: send it in the "${header}" header.`,
  invalid: "The Cloudflare API token given is malformed.",
} as const;

/** For operations that reach execution without a caller token in pass-through mode. */
export function missingCallerToken(header: string): GraphQLError {
  return new GraphQLError(PASS_THROUGH_MESSAGES.missing(header), {
    extensions: { code: ErrorCode.UNAUTHENTICATED },
  });
}

// On the request object: dropped with it, and never shared between two requests.
const tokens = requestState<Credentials>("caller credentials");

/** The caller's upstream credentials for this request, when pass-through mode is on. */
export function callerCredentialsOf(request: Request | undefined): Credentials | undefined {
  return request ? tokens.get(request) : undefined;
}

/**
 * Credential pass-through: each caller's upstream calls use the Cloudflare token it sent
 * instead of the gateway's. A request without one is refused rather than served with the
 * gateway's token, so turning the mode on can never let a caller spend the operator's account.
 * The token is never logged or echoed, and lives only as long as its request.
 *
 * HTTP requests are checked in `onRequest` (a 401 before the body is read); graphql-ws
 * operations, which skip it, in `onParams`, on their normalised request, whose header carries
 * the `cloudflareApiToken` of `connection_init`.
 */
export function usePassThroughCredentials(options: PassThroughOptions = {}): Plugin {
  const header = options.header ?? "x-cloudflare-api-token";
  const endpoint = options.graphqlEndpoint ?? "/graphql";
  return {
    onRequest({ request, url, endResponse }) {
      if (request.method === "OPTIONS") return;
      if (url.pathname !== endpoint && url.pathname !== `${endpoint}/`) return;
      const token = callerTokenIn(request.headers, header);
      if (token.ok) tokens.set(request, token.credentials);
      else if (token.reason === "missing") {
        endResponse(unauthenticatedResponse(PASS_THROUGH_MESSAGES.missing(header)));
      } else {
        endResponse(unauthenticatedResponse(PASS_THROUGH_MESSAGES.invalid, "invalid_request"));
      }
    },
    onParams({ request }) {
      if (tokens.has(request)) return;
      const token = callerTokenIn(request.headers, header);
      if (!token.ok) {
        throw createGraphQLError(
          token.reason === "missing"
            ? PASS_THROUGH_MESSAGES.missing(header)
            : PASS_THROUGH_MESSAGES.invalid,
          { extensions: { code: ErrorCode.UNAUTHENTICATED } },
        );
      }
      tokens.set(request, token.credentials);
    },
  };
}
