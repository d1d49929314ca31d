/**
 * The progress pollers in process, on fake timers, against a counting reader: one round per
 * interval whatever the number of subscribers, backoff while nothing changes, one poller per
 * credentials, stopped with the last subscriber, and the ways a subscription ends.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ProgressEvent, ProgressHub } from "../../src/progress/hub.ts";
import { UpstreamAbortedError, UpstreamNotFoundError } from "../../src/upstream/errors.ts";
import type { InstanceStats } from "../../src/upstream/types.ts";

const INTERVAL = 100;
const MAX = 800;

/** A reader of one account: counts rounds; `stats` is what the next round sees. */
function reader(credentialsKey = "alice") {
  const state = {
    credentialsKey,
    rounds: 0,
    stats: { queued: 1, completed: 0 } as InstanceStats,
    fail: undefined as Error | undefined,
    async getInstanceStats(_ns: string, _id: string, opts?: { signal?: AbortSignal }) {
      state.rounds++;
      if (opts?.signal?.aborted) throw new UpstreamAbortedError();
      if (state.fail) throw state.fail;
      return { ...state.stats };
    },
    async listJobs() {
      return { items: [], page: 1, perPage: 5, count: 0 };
    },
  };
  return state;
}

async function take(iterator: AsyncIterator<ProgressEvent>): Promise<ProgressEvent | "end"> {
  const next = await iterator.next();
  return next.done ? "end" : next.value;
}

let hub: ProgressHub;
beforeEach(() => {
  vi.useFakeTimers();
  hub = new ProgressHub({ intervalMs: INTERVAL, maxIntervalMs: MAX });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("the progress hub", () => {
  it("polls once per interval for 50 subscribers, and each hears every change", async () => {
    const alice = reader();
    const watchers = Array.from({ length: 50 }, () => hub.watch(alice, "ns", "docs"));
    const first = watchers.map((w) => w.next());
    await vi.advanceTimersByTimeAsync(0);
    expect(alice.rounds).toBe(1);
    for (const result of await Promise.all(first)) {
      expect(result.value).toMatchObject({ kind: "progress", snapshot: { stats: { queued: 1 } } });
    }
    for (let round = 2; round <= 6; round++) {
      alice.stats = { queued: 0, completed: round };
      await vi.advanceTimersByTimeAsync(INTERVAL);
      expect(alice.rounds).toBe(round);
    }
    // Each subscriber gets the latest snapshot; those it had no time for were superseded.
    for (const watcher of watchers) {
      expect(await take(watcher)).toMatchObject({ snapshot: { stats: { completed: 6 } } });
    }
    expect(hub.size).toBe(1);
    await Promise.all(watchers.map((w) => w.return?.()));
    expect(hub.size).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * MAX);
    expect(alice.rounds).toBe(6);
  });

  it("backs off while nothing changes, and comes back when something does", async () => {
    const alice = reader();
    const watcher = hub.watch(alice, "ns", "docs");
    await vi.advanceTimersByTimeAsync(0);
    const roundsAt = (ms: number) => vi.advanceTimersByTimeAsync(ms).then(() => alice.rounds);
    expect(await roundsAt(INTERVAL)).toBe(2); // +100: unchanged since the first
    expect(await roundsAt(INTERVAL)).toBe(2); // the next gap is 200
    expect(await roundsAt(INTERVAL)).toBe(3);
    expect(await roundsAt(3 * INTERVAL)).toBe(3); // then 400
    expect(await roundsAt(INTERVAL)).toBe(4);
    expect(await roundsAt(MAX)).toBe(5); // capped at 800
    expect(await roundsAt(MAX)).toBe(6);
    alice.stats = { queued: 0, completed: 1 };
    expect(await roundsAt(MAX)).toBe(7); // a change: back to 100
    expect(await roundsAt(INTERVAL)).toBe(8);
    await watcher.return?.();
  });

  it("never shares a poller between credentials", async () => {
    const alice = reader("alice");
    const bob = reader("bob");
    const a = hub.watch(alice, "ns", "docs");
    const b = hub.watch(bob, "ns", "docs");
    const c = hub.watch(alice, "ns", "other");
    await vi.advanceTimersByTimeAsync(0);
    expect(hub.size).toBe(3);
    expect([alice.rounds, bob.rounds]).toEqual([2, 1]);
    await Promise.all([a.return?.(), b.return?.(), c.return?.()]);
  });

  it("lets a newcomer pull the next round in, but not sooner than the interval", async () => {
    const alice = reader();
    const first = hub.watch(alice, "ns", "docs");
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(7 * INTERVAL); // backed off: rounds at 0, 100, 300, 700
    expect(alice.rounds).toBe(4);
    const second = hub.watch(alice, "ns", "docs");
    // It hears the latest snapshot at once, without a round of its own.
    expect(await take(second)).toMatchObject({ kind: "progress" });
    expect(alice.rounds).toBe(4);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(alice.rounds).toBe(5);
    await Promise.all([first.return?.(), second.return?.()]);
  });

  it("keeps polling with another subscriber's binding when the one it used leaves", async () => {
    const gone = reader();
    const staying = reader();
    const leaving = new AbortController();
    const a = hub.watch(gone, "ns", "docs", { signal: leaving.signal });
    const b = hub.watch(staying, "ns", "docs");
    await vi.advanceTimersByTimeAsync(0);
    expect([gone.rounds, staying.rounds]).toEqual([1, 0]);
    leaving.abort();
    expect(await take(a)).toBe("end");
    staying.stats = { completed: 1 };
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(staying.rounds).toBe(1);
    await b.return?.();
  });

  it("ends with a failed event when the instance is gone, and with SHUTTING_DOWN on drain", async () => {
    const alice = reader();
    const drain = new AbortController();
    const watcher = hub.watch(alice, "ns", "docs");
    const draining = hub.watch(reader("bob"), "ns", "docs", { drain: drain.signal });
    await vi.advanceTimersByTimeAsync(0);
    await take(watcher);
    await take(draining);
    alice.fail = new UpstreamNotFoundError(404);
    alice.stats = { queued: 5 };
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(await take(watcher)).toEqual({
      kind: "failed",
      code: "NOT_FOUND",
      message: expect.any(String),
      retryable: false,
    });
    expect(await take(watcher)).toBe("end");
    drain.abort();
    expect(await take(draining)).toMatchObject({
      kind: "failed",
      code: "SHUTTING_DOWN",
      retryable: true,
    });
    expect(await take(draining)).toBe("end");
    expect(hub.size).toBe(0);
  });
});
