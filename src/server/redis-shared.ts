/**
 * What replicas share through Redis when `REDIS_URL` is set: one connection, and the stores the
 * app and its plugins keep on it. A module of its own so the app imports it only then: without
 * Redis (the default) ioredis and the Redis-backed stores, ~55 modules, are never loaded.
 */
import type { GatewayConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import { SharedRedis } from "../redis/connection.ts";
import { redisRateLimitStore } from "../redis/rate-limit.ts";
import { RedisSlotStore } from "../redis/slots.ts";
import { RedisStreamSharing } from "../redis/streams.ts";
import type { GatewayMetrics } from "./observability/metrics.ts";
import type { RateLimitStore } from "./policy/rate-limit-store.ts";
import type { SlotStore } from "./policy/subscription-caps.ts";

export interface RedisShared {
  connection: SharedRedis;
  /** Resumable streams followed from any replica. */
  streamSharing: RedisStreamSharing;
  /** Per-client allowance per minute, counted across replicas. */
  rateLimits: RateLimitStore;
  /** Subscription slots per client, across replicas. */
  subscriptionSlots: SlotStore;
  /** WebSocket connection slots per client, across replicas. */
  connectionSlots: SlotStore;
}

/**
 * Connects (waiting no longer than the connect timeout: without Redis the gateway still serves,
 * each store falling back to its in-process insurance) and builds the stores.
 */
export async function connectRedisShared(
  settings: NonNullable<GatewayConfig["redis"]>,
  limits: GatewayConfig["limits"],
  { logger, metrics }: { logger: Logger; metrics?: GatewayMetrics },
): Promise<RedisShared> {
  const connection = new SharedRedis(settings, {
    logger,
    onFallback: (piece) => metrics?.redisFallbacks.inc({ piece }),
  });
  await connection.connect();
  metrics?.watchRedis(() => connection.up);
  return {
    connection,
    streamSharing: new RedisStreamSharing(connection),
    rateLimits: redisRateLimitStore(connection, {
      limit: limits.rateLimitPerMinute,
      windowMs: 60_000,
    }),
    subscriptionSlots: new RedisSlotStore(
      connection,
      "subscriptions",
      limits.maxSubscriptionsPerClient,
    ),
    connectionSlots: new RedisSlotStore(connection, "connections", limits.maxConnectionsPerClient),
  };
}
