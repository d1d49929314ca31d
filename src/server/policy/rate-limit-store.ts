import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

/** The outcome of counting one request against a client's allowance. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Requests left in the current window. */
  remaining: number;
  /** Until the window resets, in milliseconds. */
  resetMs: number;
}

/**
 * Where request counts live: in memory per process by default; with `REDIS_URL`, in Redis
 * (`src/redis/rate-limit.ts`), so several gateway replicas enforce one limit.
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

/** The window, in the whole seconds rate-limiter-flexible counts in. */
export const windowSeconds = (windowMs: number) => Math.max(1, Math.ceil(windowMs / 1000));

/**
 * A fixed-window counter per key in this process' memory (rate-limiter-flexible's
 * `RateLimiterMemory`; its Redis store shares the `consume` contract used here).
 * A key's entry expires with its window, so idle clients cost nothing.
 */
export function memoryRateLimitStore(options: { limit: number; windowMs: number }): RateLimitStore {
  return limiterStore(
    new RateLimiterMemory({ points: options.limit, duration: windowSeconds(options.windowMs) }),
  );
}

/** Any rate-limiter-flexible limiter as a store. */
export function limiterStore(limiter: RateLimiterAbstract): RateLimitStore {
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
