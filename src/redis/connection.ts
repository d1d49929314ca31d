/**
 * The gateway's connections to Redis (`REDIS_URL`), shared by rate limits, subscription and
 * connection caps, and resumable streams, so several replicas enforce one limit and resume
 * each other's streams.
 *
 * Redis trouble must never crash, hang or stop the gateway: commands fail fast instead of
 * queueing while the connection is down (`enableOfflineQueue: false`), a slow answer fails
 * after `commandTimeoutMs`, and each piece falls back to what one process can do on its own
 * (see README, "Replicas and Redis"), counting it in `gateway_redis_fallbacks_total`. The
 * connection itself reconnects forever, with a bounded backoff.
 */
import { randomUUID } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../logger.ts";

export interface RedisSettings {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  url: string;
  /** Starts every key (and Pub/Sub channel) the gateway writes. */
  keyPrefix: string;
}

/** What can fall back when Redis does not answer, as the `piece` label of the metric. */
export type RedisPiece =
  | "rate_limit"
  | "subscription_caps"
  | "connection_caps"
  | "stream_log"
  | "resume";

export interface RedisOptionsOverride {
  /**
   * Longest wait for one command's answer before the caller falls back.
   * @default 1000
   */
  commandTimeoutMs?: number;
  /**
   * Longest wait for a connection to open.
   * @default 2000
   */
  connectTimeoutMs?: number;
  /**
   * Lease of what a replica holds (slots, live streams), renewed every third of it, so what a
   * replica that died without cleaning up held is freed after at most this long.
   * @default 30_000
   */
  leaseMs?: number;
}

/** One app's use of Redis: a command connection, a Pub/Sub one, and a shared heartbeat. */
export class SharedRedis {
  /** Commands; every key is prefixed by ioredis itself, Lua scripts' `KEYS` included. */
  readonly commands: Redis;
  /** Pub/Sub only (a subscribed connection can run nothing else). */
  readonly subscriber: Redis;
  readonly prefix: string;
  /** This process among the replicas: names its slots and its control channel. */
  readonly replicaId = randomUUID();
  readonly leaseMs: number;
  readonly #logger: Pick<Logger, "info" | "warn">;
  readonly #onFallback: (piece: RedisPiece) => void;
  readonly #beats = new Set<() => void>();
  readonly #heartbeat: NodeJS.Timeout;
  /** Unset until the first `connect()` settled, so the opening handshake logs nothing. */
  #reported: "up" | "down" | undefined;
  #watching = false;

  constructor(
    settings: RedisSettings,
    options: RedisOptionsOverride & {
      logger: Pick<Logger, "info" | "warn">;
      onFallback?: (piece: RedisPiece) => void;
    },
  ) {
    this.prefix = settings.keyPrefix;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.#logger = options.logger;
    this.#onFallback = options.onFallback ?? (() => {});
    const common: RedisOptions = {
      connectTimeout: options.connectTimeoutMs ?? 2000,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      // Fail at once while disconnected rather than queue: every caller has a fallback.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Reconnect forever, at most 2 s apart: a Redis restart must not need a gateway restart.
      retryStrategy: (times) => Math.min(times * 100, 2000),
      lazyConnect: true,
    };
    this.commands = new Redis(settings.url, {
      ...common,
      keyPrefix: settings.keyPrefix,
      // Commands issued in one tick (a stream's event and its notice) go as one pipeline.
      enableAutoPipelining: true,
      connectionName: `aisearch-gateway:${this.replicaId}`,
    });
    this.subscriber = new Redis(settings.url, {
      ...common,
      connectionName: `aisearch-gateway:${this.replicaId}:pubsub`,
    });
    for (const client of [this.commands, this.subscriber]) {
      // Without a listener ioredis prints errors to the console; the state change is logged.
      client.on("error", () => this.#report());
      client.on("close", () => this.#report());
      client.on("ready", () => this.#report());
    }
    this.#heartbeat = setInterval(() => {
      for (const beat of this.#beats) beat();
    }, this.leaseMs / 3).unref();
  }

  /** Both connections are ready. */
  get up(): boolean {
    return this.commands.status === "ready" && this.subscriber.status === "ready";
  }

  /** Opens both connections; resolves either way (the gateway serves without Redis too). */
  async connect(): Promise<boolean> {
    await Promise.all([
      this.commands.connect().catch(() => {}),
      this.subscriber.connect().catch(() => {}),
    ]);
    this.#watching = true;
    this.#report();
    return this.up;
  }

  /** Counts a fallback of `piece` to what this process can do alone. */
  fellBack(piece: RedisPiece): void {
    this.#onFallback(piece);
  }

  /** Runs `beat` on every heartbeat (a third of the lease) until the returned function is called. */
  every(beat: () => void): () => void {
    this.#beats.add(beat);
    return () => this.#beats.delete(beat);
  }

  /** A Pub/Sub channel name under the prefix (ioredis prefixes keys, never channels). */
  channel(name: string): string {
    return `${this.prefix}${name}`;
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#beats.clear();
    await Promise.all(
      [this.commands, this.subscriber].map((client) =>
        client.status === "ready"
          ? client.quit().catch(() => client.disconnect())
          : client.disconnect(),
      ),
    );
  }

  /** One log line per change between up and down, not one per failed command. */
  #report(): void {
    if (!this.#watching) return;
    const now = this.up ? "up" : "down";
    if (now === this.#reported) return;
    this.#reported = now;
    if (now === "up") this.#logger.info({ replicaId: this.replicaId }, "redis connected");
    else {
      this.#logger.warn(
        { replicaId: this.replicaId },
        "redis unavailable: falling back to this process's own limits and streams",
      );
    }
  }
}
