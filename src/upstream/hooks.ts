/**
 * What the client tells an observer about its traffic. The client calls these hooks itself, at
 * the points only it can see: each attempt (so a call retried twice is three attempts), the
 * status it got, the events a stream hands over and how the stream ended. An attempt's hooks can
 * also add headers to that attempt, which is how a trace context reaches the upstream.
 *
 * Hooks run inline on the call path: they must be cheap and must not throw.
 */
import type { StreamEvent } from "./types.ts";

export interface ClientHooks {
  /**
   * Called just before each attempt is sent: the first try and every retry, each on its own.
   * A call the open circuit breaker refuses is reported as one attempt that never left (no
   * status, `UPSTREAM_CIRCUIT_OPEN`). Reads shared by coalescing are one attempt, reported
   * with the request id of the caller that started it. What the hook returns follows this one
   * attempt.
   * @default undefined (nothing observed, no headers added)
   */
  onAttempt?: (attempt: AttemptStart) => AttemptObserver | undefined;
}

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface AttemptStart {
  /** The client method, e.g. `listInstances`. */
  readonly endpoint: string;
  /** 0 for the first try, n for the n-th retry. */
  readonly retry: number;
  readonly method: HttpMethod;
  /** The binding's request id, sent as `x-request-id`. */
  readonly requestId: string | undefined;
  /** Whether this is a streamed completion, whose body outlives the attempt's `onEnd`. */
  readonly streaming: boolean;
}

export interface AttemptObserver {
  /**
   * Headers added to this attempt, e.g. W3C `traceparent`. They cannot replace the client's
   * own (credentials, `accept`, `content-type`, `user-agent`, `x-request-id`): those win.
   * @default undefined
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The attempt is over: its answer was read, or it failed (and may be retried). For a stream,
   * "over" means its response headers arrived; the body is reported by the two hooks below.
   * @default undefined
   */
  onEnd?(end: AttemptEnd): void;
  /**
   * Streams only: an event is handed to the consumer.
   * @default undefined
   */
  onStreamEvent?(event: StreamEvent): void;
  /**
   * Streams only: the stream is over. `error` is unset when it reached `[DONE]` or the
   * consumer closed it; it is `UpstreamAbortedError` when the call's signal cut it.
   * @default undefined
   */
  onStreamEnd?(error?: unknown): void;
}

export interface AttemptEnd {
  /** The HTTP status, whenever the upstream answered (even when its body was unusable). */
  readonly status?: number;
  /** Unset when the attempt succeeded; an `UpstreamError` unless the client has a bug. */
  readonly error?: unknown;
  /** From just before sending to the end of the body (JSON) or of the headers (streams). */
  readonly durationMs: number;
}
