/**
 * Resumable streams: every streamed answer is kept, event by event, for as long as a client
 * may come back for it, and any number of subscribers follow it from any point.
 *
 * A stream is one upstream read (the relay) feeding one bounded list of events. Its followers
 * are cursors into that list: the first is the subscription that started it; later ones are
 * `resumeChatCompletionStream` subscriptions, which never start a second upstream completion.
 * The upstream is read only when a follower at the end of the list asks for more (so a slow
 * client still pauses the upstream read, as without resume), or, while no follower on this
 * replica does, as fast as it comes, to buffer what a resuming client will ask for (followers
 * on other replicas read the shared log, `src/redis/streams.ts`).
 *
 * How a follower leaves decides the rest: one that asked to stop (`stoppedExplicitly`) as the
 * last follower aborts the upstream at once; an abrupt end starts the grace period, during
 * which the stream keeps reading and keeps its client's subscription slot; a resume ends the
 * grace and takes the slot over, and a grace that runs out aborts the upstream and forgets the
 * stream. A finished stream (done, failed, cancelled) stays resumable for the TTL.
 *
 * In memory per stream: its replay log (`log.ts`: the chunks event, the answer's text with where
 * each delta ends, the last event), so at most `STREAM_MAX_CHARS` of text plus the chunks. No
 * event is copied or serialised per follower, and a stream has at most one timer (its grace or
 * its expiry). Once it ends, a stream lets go of its relay (and through it the upstream parser,
 * body and the starting request's context): what thousands of finished streams keep for their
 * TTL is their logs alone.
 */
import { createHash, randomUUID } from "node:crypto";
import { GraphQLError } from "graphql";
import { ErrorCode } from "../error-codes.ts";
import type { ChatStream } from "../upstream/stream.ts";
import { stoppedExplicitly } from "./disconnect.ts";
import { StreamLog } from "./log.ts";
import {
  type ChatStreamRelay,
  type RelayedEvent,
  relayChatStream,
  type StreamLimits,
} from "./relay.ts";

export interface ResumeSettings {
  /** How long a stream nobody follows keeps its upstream running (`STREAM_RESUME_GRACE_MS`). */
  graceMs: number;
  /** How long a finished stream stays resumable, from its end (`STREAM_RESUME_TTL_MS`). */
  ttlMs: number;
}

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

export interface StartRequest {
  namespace: string;
  owner: string;
  limits: StreamLimits;
  /** The starting subscription's request signal. */
  signal?: AbortSignal;
  drain?: AbortSignal;
  /** Opens the upstream stream under `signal`, the stream's own (not the request's). */
  open(signal: AbortSignal): Promise<ChatStream>;
  /** Hands the subscription's client slot to the stream, which frees it when it ends. */
  adoptSlot?: () => (() => void) | undefined;
}

/** The error a resume or cancel of an unknown, expired or foreign stream gets. */
export function streamNotFound(): GraphQLError {
  return new GraphQLError("No such stream, or it has expired.", {
    extensions: { code: ErrorCode.STREAM_NOT_FOUND },
  });
}

const END: IteratorReturnResult<undefined> = { done: true, value: undefined };
const isLast = (event: RelayedEvent) => event.kind === "done" || event.kind === "failed";

/** The streams this replica holds (live, in their grace period, or finished and kept). */
export class StreamHub {
  readonly #streams = new Map<string, ResumableStream>();
  readonly #sharing: StreamSharing | undefined;
  /** One object for every stream: per stream, closures would be kept for its whole TTL. */
  readonly #hooks: StreamHooks;

  constructor(settings: ResumeSettings, sharing?: StreamSharing) {
    this.#sharing = sharing;
    this.#hooks = { settings, sharing, forget: (streamId) => this.#streams.delete(streamId) };
  }

  /** Streams held here by state, for a gauge. */
  counts(): { live: number; grace: number; finished: number } {
    const counts = { live: 0, grace: 0, finished: 0 };
    for (const stream of this.#streams.values()) counts[stream.state]++;
    return counts;
  }

  /**
   * Opens the upstream stream and follows it from its start. Failures before the first byte
   * reject here, as ordinary GraphQL errors. Until the upstream has answered nobody knows the
   * stream's id, so any end of the request then aborts it.
   */
  async start(request: StartRequest): Promise<Following> {
    const streamId = randomUUID();
    const { signal, owner } = request;
    // The request as the relay's `opening`, not its `subscriber`: the stream outlives it.
    const relay = await relayChatStream({
      streamId,
      namespace: request.namespace,
      limits: request.limits,
      opening: signal,
      drain: request.drain,
      open: request.open,
    });
    // Gone while the headers came: the relay ends at once, with nothing to keep.
    if (signal?.aborted) {
      void relay.return();
      return relay as Following;
    }
    const stream = new ResumableStream(streamId, owner, relay, request.adoptSlot?.(), this.#hooks);
    this.#streams.set(streamId, stream);
    this.#sharing?.open(streamId, owner);
    return stream.follow(-1, signal);
  }

  /** Follows a stream of `owner`'s after `afterSequence`: held here, or by another replica. */
  async follow(request: FollowRequest): Promise<Following> {
    const stream = this.#streams.get(request.streamId);
    if (stream) {
      if (stream.owner !== request.owner) throw streamNotFound();
      return stream.follow(request.afterSequence, request.signal);
    }
    const remote = await this.#sharing?.follow(request);
    if (!remote) throw streamNotFound();
    return remote;
  }

  /** Cancels a live stream of `owner`'s wherever it runs; false for any other id. */
  async cancel(streamId: string, owner: string): Promise<boolean> {
    const stream = this.#streams.get(streamId);
    if (stream) return stream.owner === owner && stream.cancel();
    return (await this.#sharing?.cancel(streamId, owner)) ?? false;
  }

  /** What other replicas' followers and cancellations do to the streams held here. */
  readonly control: StreamControl = {
    attach: (streamId) => this.#streams.get(streamId)?.attach(true),
    detach: (streamId, explicit) => this.#streams.get(streamId)?.detach(explicit, true),
    cancel: (streamId) => void this.#streams.get(streamId)?.cancel(),
  };

  /** Stops every timer and aborts what still runs; for the end of shutdown. */
  close(): void {
    for (const stream of [...this.#streams.values()]) stream.close();
    this.#streams.clear();
  }
}

/** What every stream of a hub shares. */
interface StreamHooks {
  settings: ResumeSettings;
  sharing: StreamSharing | undefined;
  /** An arrow, not a method: the expiry timer calls it unbound. */
  forget: (streamId: string) => void;
}

/** One stream: the upstream read, its events so far, and who follows it. */
class ResumableStream {
  /** Every event so far, for followers from any sequence. */
  readonly log: StreamLog;
  /** The upstream read; let go of once the stream ends (see the module comment). */
  #relay: ChatStreamRelay | undefined;
  #release: (() => void) | undefined;
  #phase: "live" | "ended" | "abandoned" = "live";
  /** Followers on this replica: they pull the upstream read. */
  #local = 0;
  /** Followers on other replicas, told through `control`: they read the shared log. */
  #remote = 0;
  #reading: Promise<void> | undefined;
  #driving = false;
  /** The grace period while nobody follows, then the expiry once finished. */
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: string,
    readonly owner: string,
    relay: ChatStreamRelay,
    /** The client slot the stream holds until it ends. */
    release: (() => void) | undefined,
    readonly hooks: StreamHooks,
  ) {
    this.log = new StreamLog(id);
    this.#relay = relay;
    this.#release = release;
  }

  get ended(): boolean {
    return this.#phase !== "live";
  }

  get state(): "live" | "grace" | "finished" {
    if (this.#phase !== "live") return "finished";
    return this.#local + this.#remote === 0 ? "grace" : "live";
  }

  follow(afterSequence: number, signal: AbortSignal | undefined): Following {
    this.attach(false);
    return new Follower(this, afterSequence + 1, signal);
  }

  attach(remote: boolean): void {
    if (remote) this.#remote++;
    else this.#local++;
    if (this.#phase === "live" && this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  detach(explicit: boolean, remote: boolean): void {
    if (remote) this.#remote = Math.max(0, this.#remote - 1);
    else this.#local = Math.max(0, this.#local - 1);
    if (this.#phase !== "live" || this.#local > 0) return;
    if (this.#remote === 0) {
      if (explicit) {
        this.#abandon();
        return;
      }
      this.#timer ??= setTimeout(() => this.#abandon(), this.hooks.settings.graceMs).unref();
    }
    // Nobody here pulls the upstream any more: read on, for the log or for a resume.
    void this.#drive();
  }

  /** Reads one more upstream event into `events`; one read at a time, shared by all. */
  advance(): Promise<void> {
    const relay = this.#relay;
    if (!relay) return Promise.resolve();
    this.#reading ??= relay.next().then(this.#onRead, this.#onReadFailed);
    return this.#reading;
  }

  readonly #onRead = (read: IteratorResult<RelayedEvent>): void => {
    this.#reading = undefined;
    if (this.#phase !== "live") return;
    // An end with no last event: the relay was left, which only this stream does.
    if (read.done) {
      this.#end();
      return;
    }
    this.#append(read.value);
    if (isLast(read.value)) this.#end();
  };

  /** The relay turns every failure into an event; should that ever fail, the stream ends. */
  readonly #onReadFailed = (): void => {
    this.#reading = undefined;
    if (this.#phase === "live") this.#end();
  };

  cancel(): boolean {
    if (this.#phase !== "live") return false;
    const event = this.#relay?.cancel();
    if (!event) return false;
    this.#append(event);
    this.#end();
    return true;
  }

  close(): void {
    clearTimeout(this.#timer);
    if (this.#phase === "live") this.#abandon();
  }

  /** Nobody follows: read on at the upstream's pace, buffering for a resume. */
  async #drive(): Promise<void> {
    if (this.#driving) return;
    this.#driving = true;
    try {
      while (this.#phase === "live" && this.#local === 0) await this.advance();
    } finally {
      this.#driving = false;
    }
  }

  #append(event: RelayedEvent): void {
    // The relay numbers its events itself; one the log refuses (never seen) is not shared.
    if (this.log.append(event)) this.hooks.sharing?.append(event);
  }

  #end(): void {
    this.#phase = "ended";
    clearTimeout(this.#timer);
    this.#letGo();
    this.hooks.sharing?.finish(this.id, this.hooks.settings.ttlMs);
    this.#timer = setTimeout(this.hooks.forget, this.hooks.settings.ttlMs, this.id).unref();
  }

  #abandon(): void {
    this.#phase = "abandoned";
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#relay?.return();
    this.#letGo();
    this.hooks.forget(this.id);
    this.hooks.sharing?.discard(this.id);
  }

  /** Frees the client slot and drops the relay: the ended stream keeps its log alone. */
  #letGo(): void {
    const release = this.#release;
    this.#release = undefined;
    this.#relay = undefined;
    release?.();
  }
}

/** A cursor into a stream's events; leaving tells the stream how (see the module comment). */
class Follower implements Following {
  #cursor: number;
  #left = false;

  constructor(
    readonly stream: ResumableStream,
    from: number,
    readonly signal: AbortSignal | undefined,
  ) {
    this.#cursor = Math.max(0, from);
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<RelayedEvent, undefined>> {
    const stream = this.stream;
    if (this.#left) return Promise.resolve(END);
    const event = stream.log.at(this.#cursor);
    if (event) {
      this.#cursor++;
      return Promise.resolve({ done: false, value: event });
    }
    if (stream.ended) {
      this.#leave(false);
      return Promise.resolve(END);
    }
    // Chained rather than awaited in a loop: one promise per read on every stream's hot path.
    return stream.advance().then(this.#again);
  }

  /** After a read: the event it brought, the end, or (another follower took it) one more read. */
  readonly #again = () => this.next();

  async return(): Promise<IteratorReturnResult<undefined>> {
    this.#leave(stoppedExplicitly(this.signal));
    return END;
  }

  async throw(error?: unknown): Promise<never> {
    this.#leave(false);
    throw error;
  }

  readonly #onAbort = () => this.#leave(stoppedExplicitly(this.signal));

  #leave(explicit: boolean): void {
    if (this.#left) return;
    this.#left = true;
    this.signal?.removeEventListener("abort", this.#onAbort);
    this.stream.detach(explicit, false);
  }
}

/**
 * Who owns a stream: the client identity that rate limits key on and, in pass-through mode,
 * the Cloudflare token it called with, hashed, so two callers sharing an identity (one
 * address) but not a token cannot follow each other's answers.
 */
export function streamOwner(clientId: string, passThroughToken?: string): string {
  if (passThroughToken === undefined) return clientId;
  return `${clientId} ${createHash("sha256").update(passThroughToken).digest("hex").slice(0, 32)}`;
}
