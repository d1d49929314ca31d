/**
 * The bench's window into a server process it started: loaded with `--import` into any
 * process (the gateway from this tree or from another commit, the minimal Yoga server, the
 * stub upstream), it answers requests over the fork IPC channel with the process's own CPU
 * time, memory, peak RSS and event-loop delay, and starts and stops a CPU profile. Nothing in
 * it knows the gateway's code, so a gateway built from any commit can be measured alike.
 *
 * When the bench goes away without stopping the process, the probe stops it (SIGTERM, the
 * production shutdown path, then a hard exit), so no server outlives its bench.
 */

import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { type EventLoopUtilization, monitorEventLoopDelay, performance } from "node:perf_hooks";

export type ProbeRequest =
  | { probe: "stats"; resetLag?: boolean }
  | { probe: "profile-start"; intervalUs: number }
  | { probe: "profile-stop"; path: string }
  | { probe: "gc" };

export interface ProbeStats {
  /** User + system CPU time since the process started, in ms. */
  cpuMs: number;
  rssBytes: number;
  /** The most resident memory the process ever held (getrusage's maxrss). */
  peakRssBytes: number;
  heapUsedBytes: number;
  /** Event-loop delay since the last reset, in ms (timer resolution 10 ms subtracted). */
  lag: { p50: number; p99: number; max: number };
  /**
   * Share of wall time the event loop was running callbacks since the last reset, 0 to 1. The
   * delay above is only the length of one turn: a loop kept busy by many short turns is
   * saturated (near 1 here) with a small delay, and whatever it has not got to waits in kernel
   * queues (the listen backlog, socket buffers) that no in-process metric sees.
   */
  loopBusy: number;
  /** Live libuv handles by type (sockets, timers, servers…). */
  resources: Record<string, number>;
  /** What the process itself chose to report (see {@link reportExtraStats}). */
  extra: Record<string, number>;
}

export type ProbeReply = { probe: "stats"; stats: ProbeStats } | { probe: "done"; error?: string };

const RESOLUTION_MS = 10;
/**
 * Held on globalThis: a process that preloads this module with `--import` and also imports it
 * (to report its own counters) may get two instances, and must still have one probe.
 */
const KEY = Symbol.for("aisearch-bench.probe");
type State = { installed: boolean; extraStats: () => Record<string, number> };
const shared = globalThis as { [KEY]?: State };
shared[KEY] ??= { installed: false, extraStats: () => ({}) };
const state = shared[KEY];
const lag = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
let busySince: EventLoopUtilization = performance.eventLoopUtilization();

/** For bench-owned processes (the stub upstream) to add their own counters to the stats. */
export function reportExtraStats(read: () => Record<string, number>): void {
  state.extraStats = read;
}

function stats(): ProbeStats {
  const { user, system } = process.cpuUsage();
  const memory = process.memoryUsage();
  const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  const resources: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] ?? 0) + 1;
  return {
    cpuMs: (user + system) / 1000,
    rssBytes: memory.rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: memory.heapUsed,
    lag: { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) },
    loopBusy: performance.eventLoopUtilization(busySince).utilization,
    resources,
    extra: state.extraStats(),
  };
}

let session: Session | undefined;

async function handle(request: ProbeRequest): Promise<ProbeReply> {
  switch (request.probe) {
    case "stats": {
      const reply: ProbeReply = { probe: "stats", stats: stats() };
      if (request.resetLag) {
        lag.reset();
        busySince = performance.eventLoopUtilization();
      }
      return reply;
    }
    case "profile-start":
      session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: request.intervalUs });
      await session.post("Profiler.start");
      return { probe: "done" };
    case "profile-stop": {
      if (!session) return { probe: "done", error: "no profile running" };
      const { profile } = await session.post("Profiler.stop");
      session.disconnect();
      session = undefined;
      await writeFile(request.path, JSON.stringify(profile));
      return { probe: "done" };
    }
    case "gc":
      (globalThis as { gc?: () => void }).gc?.();
      return { probe: "done" };
  }
}

if (process.send && !state.installed) {
  state.installed = true;
  lag.enable();
  process.on("message", (message: unknown) => {
    if (typeof message !== "object" || message === null || !("probe" in message)) return;
    handle(message as ProbeRequest).then(
      (reply) => process.send?.(reply),
      (error: unknown) => process.send?.({ probe: "done", error: String(error) }),
    );
  });
  process.on("disconnect", () => {
    process.kill(process.pid, "SIGTERM");
    setTimeout(() => process.exit(1), 15_000).unref();
  });
  // The channel must not keep a process alive that its own code has finished with.
  process.channel?.unref();
}
