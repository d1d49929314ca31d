/**
 * Caps on live subscriptions. Each one holds an upstream stream open, so an uncapped client
 * could hold every upstream socket the gateway has. Shared by graphql-ws and SSE so that one
 * client's total is counted across both transports and all its connections.
 */
import { GraphQLError } from "graphql";
import { ErrorCode } from "../graphql-errors.ts";

export type Release = () => void;

/** Active subscriptions per client identity, in memory. */
export class SubscriptionCounter {
  readonly #active = new Map<string, number>();

  /** @param limit most live subscriptions one client may hold at once */
  constructor(readonly limit: number) {}

  /** A release function, or `undefined` when the client already holds `limit`. */
  tryAcquire(clientId: string): Release | undefined {
    const current = this.#active.get(clientId) ?? 0;
    if (current >= this.limit) return undefined;
    this.#active.set(clientId, current + 1);
    return once(() => {
      const left = (this.#active.get(clientId) ?? 1) - 1;
      // Deleting at zero keeps the map as small as the set of clients streaming right now.
      if (left > 0) this.#active.set(clientId, left);
      else this.#active.delete(clientId);
    });
  }
}

/** Several cleanup paths may fire for one subscription; only the first may count. */
export function once(release: Release): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    release();
  };
}

export function tooManySubscriptions(scope: "connection" | "client", limit: number) {
  return new GraphQLError(
    scope === "connection"
      ? `Too many subscriptions on this connection (at most ${limit} at once).`
      : `Too many subscriptions for this client (at most ${limit} at once).`,
    { extensions: { code: ErrorCode.TOO_MANY_SUBSCRIPTIONS, limit } },
  );
}

/**
 * Wraps a subscription so `release` runs however it ends: the source finishes or throws, or the
 * consumer calls `return` — even before the first `next`, which an async generator wrapper
 * would silently skip (its `finally` never runs if it never started).
 */
export function releaseWhenDone<T>(
  source: AsyncIterable<T>,
  release: Release,
): AsyncIterableIterator<T> & { return(): Promise<IteratorResult<T>> } {
  const iterator = source[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        const result = await iterator.next();
        if (result.done) release();
        return result;
      } catch (error) {
        release();
        throw error;
      }
    },
    async return() {
      release();
      return (await iterator.return?.()) ?? { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      release();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
  };
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function"
  );
}
