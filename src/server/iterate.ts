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
  /**
   * Each value as the consumer sees it; after `onValue`, so a watcher sees what the source
   * yielded. Here rather than in one more wrapper: each layer costs every event its promises.
   */
  map?(value: T): T;
  /** What the consumer is thrown instead of `error`, when the source or `throw()` threw. */
  mapError?(error: unknown): unknown;
  /** Exactly once, however iteration ends; `error` (as thrown, unmapped) when the source threw. */
  onEnd?(error?: unknown): void;
}

/** `return` and `throw` always present: graphql-ws and Yoga's typings ask for both. */
export type WatchedIterator<T> = AsyncIterableIterator<T> & {
  return(value?: unknown): Promise<IteratorResult<T>>;
  throw(error?: unknown): Promise<IteratorResult<T>>;
};

/**
 * The hooks of each iterator this module made, until it is first read: a second watcher of the
 * same stream (the observer, then error masking) joins them instead of wrapping it again.
 */
const unread = new WeakMap<object, IterationHooks<unknown>[]>();

/**
 * `source`, unchanged for the consumer unless a hook maps it, calling `hooks` per value and when
 * it ends: done, a throw, or the consumer's `return()` — even before the first `next()`, when an
 * async generator's `finally` would never run. Not a generator for a second reason: a generator
 * queues `return()` behind a pending `next()`, while here it reaches the source at once, so an
 * upstream request is aborted when the consumer leaves rather than at its next event.
 *
 * When `source` is itself one of these and not read yet, `hooks` join it, after its own, and it
 * is returned: what nesting would do (inner hooks first), with one layer per event instead of two.
 */
export function onIteratorEnd<T>(
  source: AsyncIterable<T>,
  hooks: IterationHooks<T>,
): WatchedIterator<T> {
  const joined = unread.get(source);
  if (joined) {
    joined.push(hooks as IterationHooks<unknown>);
    return source as WatchedIterator<T>;
  }
  const all: IterationHooks<T>[] = [hooks];
  let iterator: AsyncIterator<T> | undefined;
  const started = () => {
    if (iterator) return iterator;
    unread.delete(watched);
    iterator = source[Symbol.asyncIterator]();
    return iterator;
  };
  const end = once((error?: unknown) => {
    for (const { onEnd } of all) onEnd?.(error);
  });
  // Bound once per stream rather than an async `next` per value: on a stream's hot path each
  // layer like this one costs a promise per event, not three.
  const read = (result: IteratorResult<T>) => {
    if (result.done) {
      end();
      return result;
    }
    let { value } = result;
    for (const { onValue, map } of all) {
      onValue?.(value);
      if (map) value = map(value);
    }
    return value === result.value ? result : { done: false as const, value };
  };
  const mapped = (error: unknown) => {
    let thrown = error;
    for (const { mapError } of all) if (mapError) thrown = mapError(thrown);
    return thrown;
  };
  const failed = (error: unknown): never => {
    end(error);
    throw mapped(error);
  };
  const watched: WatchedIterator<T> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      try {
        return started().next().then(read, failed);
      } catch (error) {
        // A source whose `next` throws instead of rejecting: the same end, as a rejection.
        end(error);
        return Promise.reject(mapped(error));
      }
    },
    async return(value?: unknown) {
      end();
      return (await started().return?.(value)) ?? { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      end(error);
      const own = started();
      if (own.throw) return own.throw(error).then(read, failed);
      throw mapped(error);
    },
  };
  unread.set(watched, all as IterationHooks<unknown>[]);
  return watched;
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
