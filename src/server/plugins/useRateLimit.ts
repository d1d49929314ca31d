import { createGraphQLError, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import {
  memoryRateLimitStore,
  type RateLimitDecision,
  type RateLimitStore,
} from "../policy/rate-limit-store.ts";
import { requestState } from "../request-state.ts";
import { graphqlErrorBody, jsonResponse } from "../responses.ts";
import { remoteAddressOf } from "../server-context.ts";

/** What a rate-limit key is derived from. */
export interface RateLimitKeyInput {
  request: Request;
  /** The peer address as Node saw it; `X-Forwarded-For` is deliberately not consulted. */
  remoteAddress: string | undefined;
}

export interface RateLimitOptions {
  /** Requests each client may make per window. */
  limit: number;
  /**
   * Window length in milliseconds.
   * @default 60_000
   */
  windowMs?: number;
  /**
   * Where counts are kept.
   * @default memoryRateLimitStore({ limit, windowMs })
   */
  store?: RateLimitStore;
  /**
   * Who a request counts against. Switch to the authenticated client id once client
   * authentication runs before this plugin, so clients behind one NAT or proxy stop sharing an
   * allowance.
   * @default the peer address
   */
  key?: (input: RateLimitKeyInput) => string | undefined;
  /**
   * Paths never limited: probes and scrapers poll on their own schedule and run no operation.
   * @default ["/healthz", "/readyz", "/metrics"]
   */
  exemptPaths?: readonly string[];
}

const byAddress = ({ remoteAddress }: RateLimitKeyInput) => remoteAddress;

const MESSAGE = "Too many requests; retry later.";

/**
 * The wait told to a refused client: whole seconds, since `Retry-After` has no finer unit, and
 * never 0, which clients read as "retry at once".
 */
const retryAfterMsFor = (resetMs: number) => Math.max(1000, Math.ceil(resetMs / 1000) * 1000);

function tooManyRequests({ resetMs }: RateLimitDecision): Response {
  const retryAfterMs = retryAfterMsFor(resetMs);
  return jsonResponse(429, graphqlErrorBody(ErrorCode.RATE_LIMITED, MESSAGE, { retryAfterMs }), {
    "retry-after": String(retryAfterMs / 1000),
  });
}

/**
 * Per-client rate limiting: one allowance per client, whichever transport spends it.
 *
 * An HTTP request is counted in `onRequest`; over the limit it is answered 429 with
 * `Retry-After` and `extensions.code: "RATE_LIMITED"` before its body is read or parsed. CORS
 * preflights are not counted; they carry no operation and browsers send them on their own. A
 * graphql-ws operation (queries and mutations too) skips `onRequest` and is counted in
 * `onParams`, its first hook; over the limit it ends with `RATE_LIMITED` and `retryAfterMs`,
 * and the socket stays open.
 */
export function useRateLimit(options: RateLimitOptions): Plugin {
  const windowMs = options.windowMs ?? 60_000;
  const store = options.store ?? memoryRateLimitStore({ limit: options.limit, windowMs });
  const keyOf = options.key ?? byAddress;
  const exempt = new Set(options.exemptPaths ?? ["/healthz", "/readyz", "/metrics"]);
  const counted = requestState<true>("counted");

  const consume = (request: Request, context: unknown) => {
    counted.set(request, true);
    // Requests that reach Yoga without a socket (in-process `fetch`) share one allowance.
    const key = keyOf({ request, remoteAddress: remoteAddressOf(context) }) ?? "unknown";
    return store.consume(key);
  };

  // Neither hook is `async`: one that returns a promise for a request it lets pass untouched
  // (a probe, a preflight, an HTTP request already counted) would make Yoga run every later
  // hook of its kind through promise chains.
  return {
    onRequest({ request, url, serverContext, endResponse }) {
      if (request.method === "OPTIONS" || exempt.has(url.pathname)) return;
      return consume(request, serverContext).then((decision) => {
        if (!decision.allowed) endResponse(tooManyRequests(decision));
      });
    },
    onParams({ request, context }) {
      if (counted.has(request)) return;
      return consume(request, context).then((decision) => {
        if (!decision.allowed) {
          throw createGraphQLError(MESSAGE, {
            extensions: {
              code: ErrorCode.RATE_LIMITED,
              retryAfterMs: retryAfterMsFor(decision.resetMs),
            },
          });
        }
      });
    },
  };
}
