/**
 * Caps on live subscriptions. Each one holds an upstream stream open, so an uncapped client
 * could hold every upstream socket the gateway has. Shared by graphql-ws and SSE so that one
 * client's total is counted across both transports and all its connections.
 */
import { GraphQLError } from "graphql";
import { ErrorCode } from "../../error-codes.ts";
import { once } from "../iterate.ts";

export type Release = () => void;

/**
 * Where live counts per client identity are kept: in this process by default, in Redis when
 * replicas share one limit (`src/redis/slots.ts`).
 */
export interface SlotStore {
  /** Most slots one client may hold at once. */
  readonly limit: number;
  /**
   * A release function, or `undefined` when the client already holds `limit`. The in-process
   * store answers at once; a shared one may take a round trip.
   */
  tryAcquire(clientId: string): Release | undefined | Promise<Release | undefined>;
}

/** Active subscriptions (or connections) per client identity, in memory. */
export class SubscriptionCounter implements SlotStore {
  readonly #active = new Map<string, number>();

  /** @param limit most live subscriptions one client may hold at once */
  constructor(readonly limit: number) {}

  /** A release function, or `undefined` when the client already holds `limit`. */
  tryAcquire(clientId: string): Release | undefined {
    const current = this.#active.get(clientId) ?? 0;
    if (current >= this.limit) return undefined;
    this.#active.set(clientId, current + 1);
    // Several cleanup paths may fire for one subscription; only the first may count.
    return once(() => {
      const left = (this.#active.get(clientId) ?? 1) - 1;
      // Deleting at zero keeps the map as small as the set of clients streaming right now.
      if (left > 0) this.#active.set(clientId, left);
      else this.#active.delete(clientId);
    });
  }
}

export function tooManySubscriptions(scope: "connection" | "client", limit: number) {
  return new GraphQLError(
    scope === "connection"
      ? `Too many subscriptions on this connection (at most ${limit} at once).`
      : `Too many subscriptions for this client (at most ${limit} at once).`,
    { extensions: { code: ErrorCode.TOO_MANY_SUBSCRIPTIONS, limit } },
  );
}
