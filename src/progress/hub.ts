/**
 * Indexing progress for `instanceIndexingProgress`. The upstream has no push, so it is polled:
 * one poller per instance *and credentials* (a hash of them: pollers never share answers between
 * callers whose tokens differ, in pass-through mode), shared by all its subscribers, stopped when
 * the last one leaves. A poll is one round of two reads (the instance's item counts and its
 * latest jobs); rounds are at least `intervalMs` apart whatever the number of subscribers, and
 * the gap doubles up to `maxIntervalMs` while nothing changes (or the upstream fails for a
 * moment), back to `intervalMs` as soon as something does. A subscriber joining gets the latest
 * snapshot at once and never causes a round of its own; at most it pulls the next round in to
 * `intervalMs` after the last.
 *
 * Each subscriber is told only what changed, latest first: a subscriber slower than the polls
 * skips the snapshots it had no time for (they are superseded), so nothing queues up.
 */
import { ErrorCode } from "../error-codes.ts";
import { describeError } from "../graphql-errors.ts";
import type { BoundAiSearchClient } from "../upstream/client.ts";
import { UpstreamError } from "../upstream/errors.ts";
import type { Job } from "../upstream/management-types.ts";
import type { InstanceStats } from "../upstream/types.ts";

export interface ProgressSnapshot {
  namespace: string;
  instanceId: string;
  stats: InstanceStats;
  /** The latest jobs, newest first. */
  jobs: Job[];
  /** When this round's answers arrived (ISO). */
  observedAt: string;
}

export type ProgressEvent =
  | { kind: "progress"; snapshot: ProgressSnapshot }
  | { kind: "failed"; code: string; message: string; retryable: boolean };

export interface ProgressHubOptions {
  /** @default 2000 */
  intervalMs?: number;
  /** @default 30000 */
  maxIntervalMs?: number;
  /**
   * Jobs read per round (the latest).
   * @default 5
   */
  recentJobs?: number;
}

const SHUTTING_DOWN: ProgressEvent = {
  kind: "failed",
  code: ErrorCode.SHUTTING_DOWN,
  message: "The gateway is shutting down; subscribe again to keep watching.",
  retryable: true,
};

/** What one poll reads with; any subscriber's binding will do, they share credentials. */
type Reader = Pick<BoundAiSearchClient, "getInstanceStats" | "listJobs">;

interface Subscriber {
  reader: Reader;
  /** The next event not yet taken, latest wins; `ended` says when none will follow it. */
  pending: ProgressEvent | undefined;
  ended: boolean;
  wake: (() => void) | undefined;
}

/** Failures that will not go away by asking again: they end the subscription. */
function isFinal(error: unknown): boolean {
  return error instanceof UpstreamError && !error.retryable && error.code !== "UPSTREAM_ABORTED";
}

class Poller {
  readonly subscribers = new Set<Subscriber>();
  latest: ProgressSnapshot | undefined;
  #fingerprint = "";
  #interval: number;
  #lastRoundAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  readonly #stop = new AbortController();

  constructor(
    readonly namespace: string,
    readonly instanceId: string,
    private readonly options: Required<ProgressHubOptions>,
    private readonly onIdle: () => void,
  ) {
    this.#interval = options.intervalMs;
  }

  join(subscriber: Subscriber): void {
    this.subscribers.add(subscriber);
    if (this.latest) this.#tell(subscriber, { kind: "progress", snapshot: this.latest });
    // A newcomer wants fresh news, but never sooner than a round's minimum gap.
    this.#interval = this.options.intervalMs;
    if (!this.#polling) this.#schedule();
  }

  leave(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size > 0) return;
    clearTimeout(this.#timer);
    this.#stop.abort();
    this.onIdle();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const wait = Math.max(0, this.#lastRoundAt + this.#interval - Date.now());
    this.#timer = setTimeout(() => void this.#round(), wait);
  }

  async #round(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#polling = true;
    this.#lastRoundAt = Date.now();
    let changed = false;
    try {
      const reader = this.subscribers.values().next().value?.reader;
      if (!reader) return;
      const signal = this.#stop.signal;
      const [stats, jobs] = await Promise.all([
        reader.getInstanceStats(this.namespace, this.instanceId, { signal }),
        reader.listJobs(
          this.namespace,
          this.instanceId,
          { perPage: this.options.recentJobs },
          { signal },
        ),
      ]);
      const fingerprint = JSON.stringify([stats, jobs.items]);
      changed = fingerprint !== this.#fingerprint;
      if (changed) {
        this.#fingerprint = fingerprint;
        this.latest = {
          namespace: this.namespace,
          instanceId: this.instanceId,
          stats,
          jobs: jobs.items,
          observedAt: new Date().toISOString(),
        };
        for (const subscriber of this.subscribers) {
          this.#tell(subscriber, { kind: "progress", snapshot: this.latest });
        }
      }
    } catch (error) {
      if (this.#stop.signal.aborted) return;
      if (isFinal(error)) {
        const { code, message, retryable } = describeError(error);
        for (const subscriber of this.subscribers) {
          this.#tell(subscriber, { kind: "failed", code, message, retryable });
          subscriber.ended = true;
        }
        return;
      }
      // A subscriber whose binding ended mid-round (UPSTREAM_ABORTED) or a passing failure:
      // the next round tries again, with another subscriber's binding if that one left.
    } finally {
      this.#polling = false;
    }
    if (this.#stop.signal.aborted) return;
    this.#interval = changed
      ? this.options.intervalMs
      : Math.min(this.#interval * 2, this.options.maxIntervalMs);
    this.#schedule();
  }

  #tell(subscriber: Subscriber, event: ProgressEvent): void {
    if (subscriber.ended) return;
    subscriber.pending = event;
    subscriber.wake?.();
  }
}

export class ProgressHub {
  readonly #pollers = new Map<string, Poller>();
  readonly #options: Required<ProgressHubOptions>;

  constructor(options: ProgressHubOptions = {}) {
    this.#options = {
      intervalMs: options.intervalMs ?? 2_000,
      maxIntervalMs: Math.max(options.maxIntervalMs ?? 30_000, options.intervalMs ?? 2_000),
      recentJobs: options.recentJobs ?? 5,
    };
  }

  /** Instances being polled right now. */
  get size(): number {
    return this.#pollers.size;
  }

  /**
   * The progress of one instance as it changes, for one subscriber reading with `upstream`
   * (its binding: credentials, signal). Ends when `signal` aborts (nothing more is sent) or the
   * caller returns; when `drain` aborts, with a last `SHUTTING_DOWN` event.
   */
  watch(
    upstream: Reader & { readonly credentialsKey: string },
    namespace: string,
    instanceId: string,
    { signal, drain }: { signal?: AbortSignal; drain?: AbortSignal } = {},
  ): AsyncIterableIterator<ProgressEvent> {
    const key = `${upstream.credentialsKey}\n${namespace}\n${instanceId}`;
    let poller = this.#pollers.get(key);
    if (!poller) {
      const created = new Poller(namespace, instanceId, this.#options, () => {
        if (this.#pollers.get(key) === created) this.#pollers.delete(key);
      });
      this.#pollers.set(key, created);
      poller = created;
    }
    const subscriber: Subscriber = {
      reader: upstream,
      pending: undefined,
      ended: false,
      wake: undefined,
    };
    const joined = poller;
    const leave = () => {
      if (subscriber.ended && !joined.subscribers.has(subscriber)) return;
      subscriber.ended = true;
      signal?.removeEventListener("abort", leave);
      drain?.removeEventListener("abort", shutDown);
      joined.leave(subscriber);
      subscriber.wake?.();
    };
    const shutDown = () => {
      subscriber.pending = SHUTTING_DOWN;
      leave();
    };
    signal?.addEventListener("abort", leave, { once: true });
    drain?.addEventListener("abort", shutDown, { once: true });
    joined.join(subscriber);
    if (drain?.aborted) shutDown();
    else if (signal?.aborted) leave();
    const end: IteratorReturnResult<undefined> = { done: true, value: undefined };
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        for (;;) {
          const event = subscriber.pending;
          if (event && !(subscriber.ended && signal?.aborted)) {
            subscriber.pending = undefined;
            if (event.kind === "failed") leave();
            return { done: false, value: event };
          }
          if (subscriber.ended) {
            leave();
            return end;
          }
          await new Promise<void>((resolve) => {
            subscriber.wake = resolve;
          });
          subscriber.wake = undefined;
        }
      },
      async return() {
        leave();
        return end;
      },
    };
  }
}
