import type { IncomingMessage } from "node:http";
import type { Plugin } from "graphql-yoga";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { ErrorCode } from "../error-codes.ts";
import { graphqlErrorBody, jsonResponse } from "./responses.ts";

/** The outcome of counting one request against a client's allowance. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Requests left in the current window. */
  remaining: number;
  /** Until the window resets, in milliseconds. */
  resetMs: number;
}

/**
 * Where request counts live. In memory per process today; a shared store (Redis, say) lets
 * several gateway replicas enforce one limit, and only has to implement this.
 */
export interface RateLimitStore {
  /**
   * Counts one request for `key`; resolves to whether it fits in the allowance. A rejection
   * fails the request with 500, so a shared store decides for itself whether an outage of its
   * backend should let requests through.
   */
  consume(key: string): Promise<RateLimitDecision>;
}

/**
 * A fixed-window counter per key in this process' memory (rate-limiter-flexible's
 * `RateLimiterMemory`; its Redis and other stores share the `consume` contract used here).
 * A key's entry expires with its window, so idle clients cost nothing.
 */
export function memoryRateLimitStore(options: { limit: number; windowMs: number }): RateLimitStore {
  const limiter = new RateLimiterMemory({
    points: options.limit,
    duration: Math.max(1, Math.ceil(options.windowMs / 1000)),
  });
  return {
    async consume(key) {
      try {
        const res = await limiter.consume(key);
        return { allowed: true, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
      } catch (rejection) {
        // The limiter rejects with its result when the allowance is spent, with an Error otherwise.
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        return { allowed: false, remaining: 0, resetMs: rejection.msBeforeNext };
      }
    },
  };
}

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

/** The refusal's message, the same over HTTP and graphql-ws. */
export const RATE_LIMITED_MESSAGE = "Too many requests; retry later.";

/**
 * The wait told to a refused client: whole seconds, since `Retry-After` has no finer unit, and
 * never 0, which clients read as "retry at once".
 */
export const retryAfterMsFor = (resetMs: number) =>
  Math.max(1000, Math.ceil(resetMs / 1000) * 1000);

function tooManyRequests(resetMs: number): Response {
  const retryAfterMs = retryAfterMsFor(resetMs);
  return jsonResponse(
    429,
    graphqlErrorBody(ErrorCode.RATE_LIMITED, RATE_LIMITED_MESSAGE, { retryAfterMs }),
    { "retry-after": String(retryAfterMs / 1000) },
  );
}

/**
 * Per-client rate limiting over HTTP, in `onRequest`: an over-limit request is answered 429 with
 * `Retry-After` and `extensions.code: "RATE_LIMITED"` before its body is read or parsed. CORS
 * preflights are not counted; they carry no operation and browsers send them on their own.
 * graphql-ws never passes through here: it consumes from the same store itself (`rateLimit` of
 * `serveGraphqlWs`), one token per `subscribe` message.
 */
export function useRateLimit(options: RateLimitOptions): Plugin {
  const windowMs = options.windowMs ?? 60_000;
  const store = options.store ?? memoryRateLimitStore({ limit: options.limit, windowMs });
  const keyOf = options.key ?? byAddress;
  const exempt = new Set(options.exemptPaths ?? ["/healthz", "/readyz", "/metrics"]);

  return {
    async onRequest({ request, url, serverContext, endResponse }) {
      if (request.method === "OPTIONS" || exempt.has(url.pathname)) return;
      const remoteAddress = (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket
        ?.remoteAddress;
      // Requests that reach Yoga without a socket (in-process `fetch`) share one allowance.
      const key = keyOf({ request, remoteAddress }) ?? "unknown";
      const decision = await store.consume(key);
      if (!decision.allowed) endResponse(tooManyRequests(decision.resetMs));
    },
  };
}
