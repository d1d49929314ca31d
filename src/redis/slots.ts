/**
 * Subscription and connection caps shared by every replica. A plain counter would leak the
 * slots of a replica that dies; here each slot is a lease instead: a member of the client's
 * sorted set, scored by when it expires (Redis's own clock, so replicas' clocks do not
 * matter). A replica renews its members on the shared heartbeat; a slot freed normally is
 * removed at once, and one whose replica died expires within a lease.
 *
 * Redis down or slow: the slot is taken from this process's own counter instead (each replica
 * then caps the client on its own), counted as a fallback, and freed there.
 */

import { once } from "../server/iterate.ts";
import {
  type Release,
  type SlotStore,
  SubscriptionCounter,
} from "../server/policy/subscription-caps.ts";
import type { RedisPiece, SharedRedis } from "./connection.ts";

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] the client's set; ARGV limit, lease, member. 1 when taken, 0 when at the limit. */
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS the sets; ARGV[1] the lease, then one member per key: renews each lease held. */
const RENEW = `${NOW}
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease)
end
return #KEYS`;

type SlotCommands = {
  gatewaySlotAcquire(key: string, limit: number, leaseMs: number, member: string): Promise<number>;
  gatewaySlotRenew(...args: (string | number)[]): Promise<number>;
};

/** Defines the scripts once per connection. */
function commandsOf(redis: SharedRedis): SlotCommands {
  const client = redis.commands as unknown as SlotCommands & {
    gatewaySlotAcquire?: unknown;
  };
  if (!client.gatewaySlotAcquire) {
    redis.commands.defineCommand("gatewaySlotAcquire", { numberOfKeys: 1, lua: ACQUIRE });
    redis.commands.defineCommand("gatewaySlotRenew", { lua: RENEW });
  }
  return client;
}

export class RedisSlotStore implements SlotStore {
  readonly #redis: SharedRedis;
  readonly #kind: string;
  readonly #piece: RedisPiece;
  readonly #fallback: SlotStore;
  readonly #commands: SlotCommands;
  /** Member → its key, for every slot this replica holds in Redis. */
  readonly #held = new Map<string, string>();
  #next = 0;

  /**
   * @param kind names the sets: `<prefix>slots:<kind>:<client>`
   * @param fallback this process's own counter, used while Redis does not answer
   */
  constructor(
    redis: SharedRedis,
    kind: "subscriptions" | "connections",
    readonly limit: number,
    /** While Redis is down. @default an in-process counter with the same limit */
    fallback: SlotStore = new SubscriptionCounter(limit),
  ) {
    this.#redis = redis;
    this.#kind = kind;
    this.#piece = kind === "subscriptions" ? "subscription_caps" : "connection_caps";
    this.#fallback = fallback;
    this.#commands = commandsOf(redis);
    redis.every(() => this.#renew());
  }

  async tryAcquire(clientId: string): Promise<Release | undefined> {
    const key = `slots:${this.#kind}:${clientId}`;
    const member = `${this.#redis.replicaId}:${this.#next++}`;
    let taken: number;
    try {
      taken = await this.#commands.gatewaySlotAcquire(key, this.limit, this.#redis.leaseMs, member);
    } catch {
      this.#redis.fellBack(this.#piece);
      return this.#fallback.tryAcquire(clientId);
    }
    if (taken !== 1) return undefined;
    this.#held.set(member, key);
    return once(() => {
      this.#held.delete(member);
      // Not freed now (Redis down): the lease frees it, since nobody renews it any more.
      this.#redis.commands.zrem(key, member).catch(() => {});
    });
  }

  /** Slots held in Redis now. */
  get held(): number {
    return this.#held.size;
  }

  #renew(): void {
    if (this.#held.size === 0) return;
    const keys = [...this.#held.values()];
    const members = [...this.#held.keys()];
    this.#commands
      .gatewaySlotRenew(keys.length, ...keys, this.#redis.leaseMs, ...members)
      .catch(() => this.#redis.fellBack(this.#piece));
  }
}
