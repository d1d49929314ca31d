import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

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
   * fails the request with 500 (over graphql-ws: that operation with `INTERNAL_SERVER_ERROR`),
   * so a shared store decides for itself whether an outage of its backend should let requests
   * through.
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
