/**
 * A follower of a stream held by another replica (see `streams.ts` for the whole design): it
 * reads the stream's log after its sequence, then takes live events from Pub/Sub, reading the
 * log again when one went missing, and tells the holder when it attaches and how it leaves.
 */
import { ErrorCode } from "../error-codes.ts";
import { stoppedExplicitly } from "../streams/disconnect.ts";
import type { RelayedEvent } from "../streams/relay.ts";
import type { Following, FollowRequest } from "../streams/sharing.ts";

/** What followers tell the replica holding a stream, on its control channel. */
export type ControlMessage =
  | { t: "attach"; id: string }
  | { t: "detach"; id: string; explicit: boolean }
  | { t: "cancel"; id: string };

/** What a follower needs of the shared log (`RedisStreamSharing`). */
export interface FollowedLog {
  /** Subscribes `follower` to the stream's live events; settles once Redis answered. */
  join(streamId: string, follower: RemoteFollower): Promise<void>;
  part(streamId: string, follower: RemoteFollower): void;
  /** The logged events after `afterSequence`, in order. */
  logAfter(streamId: string, afterSequence: number): Promise<RelayedEvent[]>;
  tell(holder: string, message: ControlMessage): Promise<number>;
}

const END: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** A follower of a stream held by another replica: the log after its sequence, then Pub/Sub. */
export class RemoteFollower implements Following {
  readonly streamId: string;
  readonly #sharing: FollowedLog;
  readonly #holder: string;
  readonly #signal: AbortSignal | undefined;
  readonly #drain: AbortSignal | undefined;
  /** The last sequence taken; a follower-made failure repeats it. */
  #last: number;
  readonly #queue: RelayedEvent[] = [];
  #wake: (() => void) | undefined;
  /** Whether the holder was told this follower follows (and must be told when it leaves). */
  #attached = false;
  /** The stream's last event was taken. */
  #ended = false;
  #left = false;
  #catching: Promise<void> | undefined;
  #again = false;

  constructor(
    sharing: FollowedLog,
    request: FollowRequest,
    holder: string,
    readonly live: boolean,
  ) {
    this.#sharing = sharing;
    this.streamId = request.streamId;
    this.#holder = holder;
    this.#signal = request.signal;
    this.#drain = request.drain;
    this.#last = request.afterSequence;
  }

  async begin(): Promise<void> {
    await this.#sharing.join(this.streamId, this);
    if (this.live) {
      this.#attached = true;
      await this.#sharing.tell(this.#holder, { t: "attach", id: this.streamId });
    }
    await this.#catchUpNow();
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#drain?.addEventListener("abort", this.#onDrain, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<RelayedEvent, undefined>> {
    for (;;) {
      const event = this.#queue.shift();
      if (event) return { done: false, value: event };
      if (this.#ended || this.#left) {
        this.#leave(false);
        return END;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    this.#leave(stoppedExplicitly(this.#signal));
    return END;
  }

  async throw(error?: unknown): Promise<never> {
    this.#leave(false);
    throw error;
  }

  /** A live event from Pub/Sub, or one read from the log. */
  take(event: RelayedEvent): void {
    if (this.#ended || this.#left || event.sequence <= this.#last) return;
    if (event.sequence > this.#last + 1) {
      // One went missing on the way: the log has it.
      this.catchUp();
      return;
    }
    this.#push(event);
  }

  /** Reads the log after the last event taken; one read at a time, again if asked meanwhile. */
  catchUp(): void {
    if (this.#catching) {
      this.#again = true;
      return;
    }
    this.#catchUpNow().catch(() => {
      // Redis is down: the heartbeat decides when to give up.
    });
  }

  /** Ends this follower with a failure of its own (see the module comment). */
  fail(): void {
    this.#failWith(
      ErrorCode.RESUME_UNAVAILABLE,
      "The stream can no longer be followed from here; resume it again.",
    );
  }

  /** Ends this follower, unless it already ended or left, with a retryable failure. */
  #failWith(code: string, message: string): void {
    if (this.#ended || this.#left) return;
    this.#push({
      streamId: this.streamId,
      sequence: this.#last,
      kind: "failed",
      code,
      message,
      retryable: true,
    });
  }

  #push(event: RelayedEvent): void {
    this.#last = Math.max(this.#last, event.sequence);
    this.#queue.push(event);
    if (event.kind === "done" || event.kind === "failed") {
      this.#ended = true;
      this.#sharing.part(this.streamId, this);
    }
    this.#wake?.();
    this.#wake = undefined;
  }

  async #catchUpNow(): Promise<void> {
    const reading = (async () => {
      do {
        this.#again = false;
        for (const event of await this.#sharing.logAfter(this.streamId, this.#last)) {
          this.take(event);
        }
      } while (this.#again && !this.#ended && !this.#left);
    })();
    this.#catching = reading;
    try {
      await reading;
    } finally {
      this.#catching = undefined;
    }
  }

  readonly #onAbort = () => this.#leave(stoppedExplicitly(this.#signal));

  /** This replica drains: the follower ends, the stream goes on where it runs. */
  readonly #onDrain = () =>
    this.#failWith(
      ErrorCode.SHUTTING_DOWN,
      "The gateway is shutting down; resume the stream on another connection.",
    );

  #leave(explicit: boolean): void {
    if (this.#left) return;
    this.#left = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#drain?.removeEventListener("abort", this.#onDrain);
    this.#sharing.part(this.streamId, this);
    if (this.#attached) {
      this.#attached = false;
      this.#sharing
        .tell(this.#holder, { t: "detach", id: this.streamId, explicit })
        .catch(() => {});
    }
    this.#wake?.();
    this.#wake = undefined;
  }
}
