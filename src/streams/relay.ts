/**
 * The relay of one streamed answer: the upstream's stream events in, the subscription's events
 * out, one at a time, ending for exactly one reason.
 *
 * Everything that can stop a stream early (the subscriber's signal, the gateway's drain signal,
 * the time and size limits, a cancellation, the subscriber leaving) aborts one controller, the
 * relay's own (`Stops`). The upstream call runs under its signal, so whichever fires first closes
 * the upstream socket at once, and its reason alone decides the last event.
 */
import { GraphQLError } from "graphql";
import { ErrorCode } from "../error-codes.ts";
import { describeError } from "../graphql-errors.ts";
import type { ChatStream } from "../upstream/stream.ts";
import type {
  ChatCompletionResponse,
  Chunk,
  InstanceError,
  StreamEvent,
} from "../upstream/types.ts";

/** Bounds on one streamed answer; past either, the stream ends with `STREAM_LIMIT_EXCEEDED`. */
export interface StreamLimits {
  /** Characters of answer text (`STREAM_MAX_CHARS`). */
  maxChars: number;
  /** Milliseconds from the upstream's response headers (`STREAM_MAX_DURATION_MS`). */
  maxDurationMs: number;
}

/** Where an event sits: its stream, and its position in it (0 for the chunks event, then +1). */
export interface StreamPosition {
  streamId: string;
  sequence: number;
}

/** What the subscription sends: chunks, then deltas, then done or failed. */
export type RelayedEvent = StreamPosition &
  (
    | { kind: "chunks"; namespace: string; chunks: Chunk[]; errors: InstanceError[] }
    | { kind: "delta"; content: string; finishReason: string | null }
    | { kind: "done"; completion: { namespace: string; response: ChatCompletionResponse } }
    | { kind: "failed"; code: string; message: string; retryable: boolean }
  );

/** An event before it is given its place in a stream. */
type Unplaced = RelayedEvent extends infer E
  ? E extends StreamPosition
    ? Omit<E, keyof StreamPosition>
    : never
  : never;

/** A failure event before it is given its place in a stream. */
type Failure = Extract<Unplaced, { kind: "failed" }>;

/** Why a relay stopped before its upstream finished. */
export type StopReason = "subscriber-gone" | "draining" | "deadline" | "too-long" | "cancelled";

/**
 * The relays each drain signal stops: one listener on the signal for all of them. Not
 * `AbortSignal.any` per stream, which costs ~25 µs and two weak references (more garbage
 * collection) on every stream's setup, nor a listener per stream: Node's EventTarget checks a new
 * listener against every one it holds, so adding the 10,000th would walk 9,999.
 */
const drained = new WeakMap<AbortSignal, Set<Stops>>();

function relaysOf(drain: AbortSignal): Set<Stops> {
  let stops = drained.get(drain);
  if (!stops) {
    const all = new Set<Stops>();
    drain.addEventListener("abort", () => {
      for (const stop of all) stop.stop("draining");
      all.clear();
    });
    drained.set(drain, all);
    stops = all;
  }
  return stops;
}

/**
 * A relay's one signal, and the reason it was aborted for: the first to fire. The signal is the
 * controller's own, with no `AbortSignal.any` in between (see `drained`).
 */
class Stops {
  readonly #controller = new AbortController();
  readonly signal: AbortSignal = this.#controller.signal;
  /** Why the relay stopped early; unset while it has not. A field: read on every event. */
  reason: StopReason | undefined;
  readonly #subscriber: AbortSignal | undefined;
  /** The drain signal's relays (`drained`), this one among them until it ends. */
  readonly #drained: Set<Stops> | undefined;

  constructor(subscriber: AbortSignal | undefined, drain: AbortSignal | undefined) {
    this.#subscriber = subscriber;
    this.#drained = drain && relaysOf(drain);
    // A source aborted already wins, the subscriber's first (as `AbortSignal.any` took them);
    // stopped at once, the relay listens to neither.
    if (subscriber?.aborted) this.stop("subscriber-gone");
    else if (drain?.aborted) this.stop("draining");
    else {
      subscriber?.addEventListener("abort", this.#subscriberGone, { once: true });
      this.#drained?.add(this);
    }
  }

  readonly #subscriberGone = (): void => this.stop("subscriber-gone");

  stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    // Stopped, it needs no other stop: let go of the subscriber's signal and the drain's set
    // now, not when someone next reads (a stream stopped by its deadline may never be read).
    this.release();
    this.#controller.abort();
  }

  /** The relay ended or stopped: nothing is to stop it any more, and nothing keeps it. */
  release(): void {
    this.#subscriber?.removeEventListener("abort", this.#subscriberGone);
    this.#drained?.delete(this);
  }
}

/** How many relays `drain` would stop now: those still running. For tests of what is held. */
export function relaysHeldBy(drain: AbortSignal): number {
  return drained.get(drain)?.size ?? 0;
}

/** For the deadline's timer: no closure per stream. */
const deadline = (stops: Stops) => stops.stop("deadline");

const SHUTTING_DOWN = {
  kind: "failed",
  code: ErrorCode.SHUTTING_DOWN,
  message: "The gateway is shutting down; subscribe again to get a complete answer.",
  retryable: true,
} as const satisfies Failure;

const LIMIT_EXCEEDED = {
  kind: "failed",
  code: ErrorCode.STREAM_LIMIT_EXCEEDED,
  message: "The answer exceeded the gateway's size or time limit and was cut off.",
  retryable: false,
} as const satisfies Failure;

const CANCELLED = {
  kind: "failed",
  code: ErrorCode.CANCELLED,
  message: "The answer was cancelled.",
  retryable: false,
} as const satisfies Failure;

/** The last event for a stop: a subscriber that left gets nothing more. */
const FINAL_EVENT: Record<StopReason, Failure | undefined> = {
  "subscriber-gone": undefined,
  draining: SHUTTING_DOWN,
  deadline: LIMIT_EXCEEDED,
  "too-long": LIMIT_EXCEEDED,
  cancelled: CANCELLED,
};

const END: IteratorReturnResult<undefined> = { done: true, value: undefined };

export interface RelayOptions {
  /** Carried by every event, with its sequence. */
  streamId: string;
  namespace: string;
  limits: StreamLimits;
  /**
   * Aborted once nobody is to get more events: the subscriber's request, or (for a resumable
   * stream) the stream's own stop, which outlives any one subscriber.
   */
  subscriber?: AbortSignal;
  /** The gateway's drain signal: aborted when shutdown begins. */
  drain?: AbortSignal;
  /**
   * Heeded only until the upstream answers: aborted by then, the upstream call is abandoned as
   * if the subscriber had left. A resumable stream's starting request, which it outlives.
   */
  opening?: AbortSignal;
  /** Opens the upstream stream; it must run under `signal`. */
  open(signal: AbortSignal): Promise<ChatStream>;
}

/**
 * Opens the upstream stream and relays it. Failures before the first byte (unknown namespace,
 * rate limit, upstream down) reject here, so they are ordinary GraphQL errors with a code.
 */
export async function relayChatStream(options: RelayOptions): Promise<ChatStreamRelay> {
  const stops = new Stops(options.subscriber, options.drain);
  // A listener of the opening's own, not a source of the relay's signal, and not the
  // subscriber's listener: the same function added for both signals would be removed from the
  // subscriber's with the opening's (a caller may pass one signal as both).
  const { opening } = options;
  const openingGone = opening && (() => stops.stop("subscriber-gone"));
  if (opening?.aborted) stops.stop("subscriber-gone");
  else if (openingGone) opening?.addEventListener("abort", openingGone, { once: true });
  let events: ChatStream;
  try {
    events = await options.open(stops.signal);
  } catch (error) {
    stops.release();
    // A drain that began while the headers were coming is the reason, not the abort it caused.
    if (stops.reason === "draining") {
      const { code, message, retryable } = SHUTTING_DOWN;
      throw new GraphQLError(message, { extensions: { code, retryable } });
    }
    throw error;
  } finally {
    if (openingGone) opening?.removeEventListener("abort", openingGone);
  }
  return new ChatStreamRelay(options, events, stops);
}

/**
 * The relay as a single async iterator. It reads the upstream only when asked for an event, so
 * a slow subscriber pauses the upstream read and nothing is buffered; `return()` works before
 * the first `next()` too, closing the upstream.
 */
export class ChatStreamRelay implements AsyncIterableIterator<RelayedEvent> {
  readonly #streamId: string;
  readonly #namespace: string;
  readonly #maxChars: number;
  readonly #upstream: AsyncIterator<StreamEvent>;
  readonly #close: () => void;
  readonly #stops: Stops;
  readonly #deadline: NodeJS.Timeout;
  #ended = false;
  /** The next event's sequence. */
  #sequence = 0;
  #chunks: Chunk[] = [];
  #errors: InstanceError[] = [];
  #content = "";
  readonly #meta: { id?: string; model?: string; created?: number; finishReason: string | null } = {
    finishReason: null,
  };

  constructor(options: RelayOptions, events: ChatStream, stops: Stops) {
    this.#streamId = options.streamId;
    this.#namespace = options.namespace;
    this.#maxChars = options.limits.maxChars;
    this.#upstream = events[Symbol.asyncIterator]();
    this.#close = () => events.close();
    this.#stops = stops;
    // A runaway upstream (endless or slow answer) is cut off here, never relayed forever.
    this.#deadline = setTimeout(deadline, options.limits.maxDurationMs, stops);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<RelayedEvent, undefined>> {
    if (this.#ended) return Promise.resolve(END);
    if (this.#stops.reason) return Promise.resolve(this.#end());
    let read: Promise<IteratorResult<StreamEvent>>;
    try {
      read = this.#upstream.next();
    } catch (error) {
      return Promise.resolve(this.#end(error));
    }
    // Chained with functions bound once, not an async frame and an await per event.
    return read.then(this.#onRead, this.#onReadFailed);
  }

  readonly #onRead = (
    result: IteratorResult<StreamEvent>,
  ): IteratorResult<RelayedEvent, undefined> => {
    // Cancelled or left while the read was in flight: what it brought is not relayed.
    if (this.#ended) return END;
    if (result.done) return this.#end();
    const event = this.#relay(result.value);
    return event ? { done: false, value: event } : this.#end();
  };

  // `#end` answers END itself when the stream had already ended.
  readonly #onReadFailed = (error: unknown): IteratorResult<RelayedEvent, undefined> =>
    this.#end(error);

  /** The subscriber left: close the upstream, send nothing more. */
  async return(): Promise<IteratorReturnResult<undefined>> {
    if (!this.#ended) {
      this.#stops.stop("subscriber-gone");
      this.#finish();
    }
    return END;
  }

  /**
   * Stops the stream at once on a client's request: the upstream is closed and the `CANCELLED`
   * event returned is the last one (undefined when the stream had already ended).
   */
  cancel(): RelayedEvent | undefined {
    if (this.#ended) return undefined;
    this.#stops.stop("cancelled");
    this.#finish();
    return this.#place(CANCELLED);
  }

  async throw(error?: unknown): Promise<never> {
    await this.return();
    throw error;
  }

  /** The subscription's event for an upstream one; undefined once the size limit is hit. */
  #relay(event: StreamEvent): RelayedEvent | undefined {
    if (event.type === "chunks") {
      this.#chunks = event.chunks;
      this.#errors = event.errors ?? [];
      return this.#place({
        kind: "chunks",
        namespace: this.#namespace,
        chunks: event.chunks,
        errors: this.#errors,
      });
    }
    if (event.type === "delta") {
      this.#content += event.content;
      if (this.#content.length > this.#maxChars) {
        this.#stops.stop("too-long");
        return undefined;
      }
      const meta = this.#meta;
      meta.id ??= event.id;
      meta.model ??= event.model;
      meta.created ??= event.created;
      meta.finishReason = event.finishReason ?? meta.finishReason;
      // Built whole rather than through `#place`: one object per delta, the hot path.
      return {
        streamId: this.#streamId,
        sequence: this.#sequence++,
        kind: "delta",
        content: event.content,
        finishReason: event.finishReason,
      };
    }
    this.#finish();
    return this.#place({ kind: "done", completion: this.#assemble() });
  }

  /**
   * Ends the relay: the stop's reason decides the last event when there was one (an upstream
   * failure caused by the abort is only its symptom); otherwise an upstream failure does.
   */
  #end(error?: unknown): IteratorResult<RelayedEvent, undefined> {
    if (this.#ended) return END;
    this.#finish();
    let final: Failure | undefined;
    const stopped = this.#stops.reason;
    if (stopped) final = FINAL_EVENT[stopped];
    else if (error !== undefined) {
      const { code, message, retryable } = describeError(error);
      final = { kind: "failed", code, message, retryable };
    }
    return final ? { done: false, value: this.#place(final) } : END;
  }

  /** An event as the stream's next one. */
  #place(event: Unplaced): RelayedEvent {
    return { streamId: this.#streamId, sequence: this.#sequence++, ...event };
  }

  #finish(): void {
    this.#ended = true;
    clearTimeout(this.#deadline);
    this.#stops.release();
    this.#close();
  }

  /** The final completion, built from what the stream carried, so clients need not. */
  #assemble(): { namespace: string; response: ChatCompletionResponse } {
    const { id, model, created, finishReason } = this.#meta;
    const response: ChatCompletionResponse = {
      id,
      model,
      created,
      object: "chat.completion",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: this.#content },
          finish_reason: finishReason,
        },
      ],
      chunks: this.#chunks,
      errors: this.#errors,
    };
    return { namespace: this.#namespace, response };
  }
}
