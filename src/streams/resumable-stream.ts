/**
 * One stream of a hub (`hub.ts`): the upstream read, its events so far, and the followers
 * reading them.
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
import { stoppedExplicitly } from "./disconnect.ts";
import { StreamLog } from "./log.ts";
import type { ChatStreamRelay, RelayedEvent } from "./relay.ts";
import type { Following, StreamSharing } from "./sharing.ts";

export interface ResumeSettings {
  /** How long a stream nobody follows keeps its upstream running (`STREAM_RESUME_GRACE_MS`). */
  graceMs: number;
  /** How long a finished stream stays resumable, from its end (`STREAM_RESUME_TTL_MS`). */
  ttlMs: number;
}

const END: IteratorReturnResult<undefined> = { done: true, value: undefined };
const isLast = (event: RelayedEvent) => event.kind === "done" || event.kind === "failed";

/** What every stream of a hub shares. */
export interface StreamHooks {
  settings: ResumeSettings;
  sharing: StreamSharing | undefined;
  /** An arrow, not a method: the expiry timer calls it unbound. */
  forget: (streamId: string) => void;
}

/** One stream: the upstream read, its events so far, and who follows it. */
export class ResumableStream {
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
