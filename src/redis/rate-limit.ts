/**
 * The rate limit shared by every replica: rate-limiter-flexible's Redis limiter, one fixed
 * window per client in Redis (its own atomic Lua script), behind the `RateLimitStore` the
 * plugin already uses.
 *
 * Redis down or slow (`rejectIfRedisNotReady`, the command timeout): rate-limiter-flexible
 * asks its insurance limiter instead, an in-process window of the same size, so each replica
 * then enforces the limit on its own (a client may get up to one allowance per replica until
 * Redis is back). Every such decision counts as a `rate_limit` fallback.
 */
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from "rate-limiter-flexible";
import {
  limiterStore,
  type RateLimitStore,
  windowSeconds,
} from "../server/policy/rate-limit-store.ts";
import type { SharedRedis } from "./connection.ts";

/** The in-process limiter, counting each decision it makes in Redis's stead. */
class InsuranceLimiter extends RateLimiterMemory {
  constructor(
    options: { points: number; duration: number },
    readonly onUse: () => void,
  ) {
    super(options);
  }

  override consume(...args: Parameters<RateLimiterAbstract["consume"]>) {
    this.onUse();
    return super.consume(...args);
  }
}

export function redisRateLimitStore(
  redis: SharedRedis,
  options: { limit: number; windowMs: number },
): RateLimitStore {
  const window = { points: options.limit, duration: windowSeconds(options.windowMs) };
  const limiter = new RateLimiterRedis({
    ...window,
    storeClient: redis.commands,
    // ioredis prefixes it with REDIS_KEY_PREFIX: `<prefix>rate-limit:<client>`.
    keyPrefix: "rate-limit",
    rejectIfRedisNotReady: true,
    insuranceLimiter: new InsuranceLimiter(window, () => redis.fellBack("rate_limit")),
  });
  return limiterStore(limiter);
}
