/**
 * The caller-facing side of a streamed completion: lifetime and cleanup of the response body
 * around the SSE parser.
 */
import { UpstreamAbortedError } from "./errors.ts";
import type { AttemptObserver } from "./hooks.ts";
import { type Body, type CallScope, discard } from "./http.ts";
import { parseChatStream } from "./sse.ts";
import type { StreamEvent } from "./types.ts";

/** A streamed completion: iterate once; `close()` (or leaving the loop) closes the upstream. */
export interface ChatStream extends AsyncIterable<StreamEvent> {
  close(): void;
}

const END: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Wraps a 2xx SSE body. The body is destroyed — closing the upstream socket — on any early
 * exit: `close()`, leaving a `for await`, an error, or the call's signal. After `[DONE]` the
 * few remaining bytes are drained instead, so the keep-alive socket goes back to the pool.
 * `observer` (the attempt's hooks) sees each event handed over and the end, once.
 */
export function chatStream(
  body: Body,
  scope: CallScope,
  maxEventChars: number,
  observer?: AttemptObserver,
): ChatStream {
  // destroyOnReturn: false lets us drain rather than destroy after `[DONE]`.
  const source = body.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
  const events = parseChatStream(source, { maxEventChars });
  let finished = false;
  let taken = false;

  /** `error` is what broke the stream; unset for `[DONE]` and for a consumer closing it. */
  const finish = async (clean: boolean, error?: unknown) => {
    if (finished) return;
    finished = true;
    scope.dispose();
    observer?.onStreamEnd?.(error);
    if (clean) {
      // Detach the parser from the body first: a drain reads in flowing mode.
      await events.return(undefined);
      body.dump({ limit: 64 * 1024 }).catch(() => {});
    } else {
      // The abort rejects a read in flight with UpstreamAbortedError.
      scope.abort(new UpstreamAbortedError());
      discard(body);
      events.return(undefined).catch(() => {});
    }
  };

  // A hand-written iterator rather than another async generator: one less promise hop per
  // event, and `return()` works even before the first `next()`, when a generator's would not.
  // Bound once: each read chains these instead of running an async frame and awaits per event.
  const read = (
    result: IteratorResult<StreamEvent, void>,
  ): IteratorResult<StreamEvent, undefined> | Promise<IteratorResult<StreamEvent, undefined>> => {
    if (result.done) return finish(false).then(() => END);
    observer?.onStreamEvent?.(result.value);
    if (result.value.type === "done") return finish(true).then(() => result);
    return result;
  };
  const failed = (thrown: unknown): Promise<never> => {
    // Classify before finishing: finishing aborts the scope, which would mask the cause.
    const error = scope.toUpstreamError(thrown) ?? thrown;
    return finish(false, error).then(() => {
      throw error;
    });
  };
  const iterator: AsyncIterator<StreamEvent, undefined> = {
    next() {
      if (finished) return Promise.resolve(END);
      return events.next().then(read, failed);
    },
    async return() {
      await finish(false);
      return END;
    },
  };

  return {
    [Symbol.asyncIterator]() {
      if (taken) throw new Error("A chat stream can be iterated only once");
      taken = true;
      return iterator;
    },
    close() {
      void finish(false);
    },
  };
}
