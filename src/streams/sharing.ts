/**
 * What a hub and the store that shares its streams with other replicas (`src/redis/streams.ts`)
 * tell each other, and the follower both hand out: kept apart so the hub, its streams and the
 * store depend on this contract rather than on each other.
 */
import type { RelayedEvent } from "./relay.ts";

/** One subscription's view of a stream: its events from some point on, then the end. */
export type Following = AsyncIterableIterator<RelayedEvent> & {
  return(): Promise<IteratorReturnResult<undefined>>;
};

/**
 * How a hub shares its streams with other replicas (Redis). Each method is called inline on
 * the stream's path, so it must not block, throw, or fail the stream when the store is down.
 */
export interface StreamSharing {
  /** A stream this replica holds began; `owner` is who may resume or cancel it. */
  open(streamId: string, owner: string): void;
  append(event: RelayedEvent): void;
  /** It ended with the event appended last; it stays resumable for `ttlMs`. */
  finish(streamId: string, ttlMs: number): void;
  /** It was aborted with nobody following: forget it. */
  discard(streamId: string): void;
  /**
   * A follower of a stream another replica holds, replaying after `afterSequence`; undefined
   * when there is no such stream of `owner`'s. Rejects with `RESUME_UNAVAILABLE` when the
   * store cannot be asked.
   */
  follow(request: FollowRequest): Promise<Following | undefined>;
  /** Cancels a live stream of `owner`'s held by another replica; rejects like `follow`. */
  cancel(streamId: string, owner: string): Promise<boolean>;
}

/** What other replicas tell the replica holding a stream. */
export interface StreamControl {
  attach(streamId: string): void;
  detach(streamId: string, explicit: boolean): void;
  cancel(streamId: string): void;
}

export interface FollowRequest {
  streamId: string;
  owner: string;
  afterSequence: number;
  /** The following subscription's request signal (how it ends: see `disconnect.ts`). */
  signal?: AbortSignal;
  /** The gateway's drain signal. */
  drain?: AbortSignal;
}
