/**
 * Watching a stream end. The operation observer, the subscription caps and the upstream
 * instrumentation each hold something (a span, a slot, a drain count) for exactly as long as a
 * stream lives, and a stream can end in more ways than a `finally` sees.
 */

import { isAsyncIterable } from "graphql-yoga";

/** `fn`, run on the first call only: several end paths may race for one stream. */
export function once<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let done = false;
  return (...args) => {
    if (done) return;
    done = true;
    fn(...args);
  };
}

export interface IterationHooks<T> {
  /** Each value the source yields, before the consumer sees it. */
  onValue?(value: T): void;
  /** Exactly once, however iteration ends; `error` is set when the source or `throw()` threw. */
  onEnd(error?: unknown): void;
}

/** `return` and `throw` always present: graphql-ws and Yoga's typings ask for both. */
export type WatchedIterator<T> = AsyncIterableIterator<T> & {
  return(value?: unknown): Promise<IteratorResult<T>>;
  throw(error?: unknown): Promise<IteratorResult<T>>;
};

/**
 * `source`, unchanged for the consumer, calling `hooks` per value and when it ends: done, a
 * throw, or the consumer's `return()` — even before the first `next()`, when an async
 * generator's `finally` would never run. Not a generator for a second reason: a generator queues
 * `return()` behind a pending `next()`, while here it reaches the source at once, so an upstream
 * request is aborted when the consumer leaves rather than at its next event.
 */
export function onIteratorEnd<T>(
  source: AsyncIterable<T>,
  hooks: IterationHooks<T>,
): WatchedIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const end = once((error?: unknown) => hooks.onEnd(error));
  // Bound once per stream rather than an async `next` per value: on a stream's hot path each
  // layer like this one costs a promise per event, not three.
  const read = (result: IteratorResult<T>) => {
    if (result.done) end();
    else hooks.onValue?.(result.value);
    return result;
  };
  const failed = (error: unknown): never => {
    end(error);
    throw error;
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      try {
        return iterator.next().then(read, failed);
      } catch (error) {
        // A source whose `next` throws instead of rejecting: the same end, as a rejection.
        end(error);
        return Promise.reject(error);
      }
    },
    async return(value?: unknown) {
      end();
      return (await iterator.return?.(value)) ?? { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      end(error);
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
  };
}

/**
 * Runs `run` and calls `onEnd` once the operation is over, whatever its shape: when a single
 * result arrives, when a stream ends (or is left), or when running throws.
 */
export async function whenSettled<T>(run: () => Promise<T>, onEnd: () => void): Promise<T> {
  try {
    const result = await run();
    if (isAsyncIterable(result)) return onIteratorEnd(result, { onEnd }) as T;
    onEnd();
    return result;
  } catch (error) {
    onEnd();
    throw error;
  }
}
