/**
 * What bench/soak.ts counts while it runs, and the report it prints at the end: throughput and
 * latency per operation, the streams' outcomes, the processes' CPU and memory, and what is left
 * open once the load stops.
 */

import type { ProcessStats } from "./gateway-servers.ts";
import { fixed, percentiles, table } from "./measure.ts";

export interface Tally {
  latencies: number[];
  errors: Map<string, number>;
}
export const tally = (): Tally => ({ latencies: [], errors: new Map() });
export const fail = (t: Tally, why: string) => t.errors.set(why, (t.errors.get(why) ?? 0) + 1);
export const errorCount = (t: Tally) => [...t.errors.values()].reduce((a, b) => a + b, 0);

export interface StreamTally {
  started: number;
  completed: number;
  cancelled: number;
  failures: Map<string, number>;
  firstEvent: number[];
  events: number;
}
export const streamTally = (): StreamTally => ({
  started: 0,
  completed: 0,
  cancelled: 0,
  failures: new Map(),
  firstEvent: [],
  events: 0,
});

export interface SoakResult {
  elapsedS: number;
  /** The load was stopped by the hard cap rather than by its clients finishing. */
  capped: boolean;
  settleMs: number;
  requests: Map<string, Tally>;
  streams: { sse: StreamTally; ws: StreamTally };
  cpuBefore: { upstream: number; gateway: number };
  cpuAfter: { upstream: number; gateway: number };
  /** Before the load, at its end, and settled (after a full GC, once the clients are gone). */
  before: { upstream: ProcessStats; gateway: ProcessStats };
  end: { upstream: ProcessStats; gateway: ProcessStats };
  settled: { upstream: ProcessStats; gateway: ProcessStats };
  /** A series' value in the gateway's `/metrics`, scraped once the load stopped. */
  sample(series: string): number;
  stopMs: number;
}

/** `12.3 MiB` */
export const inMiB = (bytes: number) => `${fixed(bytes / 1024 / 1024)} MiB`;

export function printReport(r: SoakResult): void {
  const rows = [["operation", "count", "ops/s", "p50 ms", "p99 ms", "errors"]];
  const all = tally();
  for (const [name, t] of r.requests) {
    const p = percentiles(t.latencies);
    rows.push([
      name,
      String(t.latencies.length),
      fixed(t.latencies.length / r.elapsedS),
      fixed(p.p50),
      fixed(p.p99),
      String(errorCount(t)),
    ]);
    all.latencies.push(...t.latencies);
    for (const [why, n] of t.errors) all.errors.set(why, (all.errors.get(why) ?? 0) + n);
  }
  const p = percentiles(all.latencies);
  rows.push([
    "all requests",
    String(all.latencies.length),
    fixed(all.latencies.length / r.elapsedS),
    fixed(p.p50),
    fixed(p.p99),
    String(errorCount(all)),
  ]);
  console.log(`\nrequests (${fixed(r.elapsedS)} s${r.capped ? ", CAPPED" : ""})`);
  console.log(table(rows));
  if (all.errors.size > 0) console.log("errors:", Object.fromEntries(all.errors));

  const streamRows = [
    [
      "streams",
      "started",
      "completed",
      "cancelled",
      "failed",
      "streams/s",
      "first event p50 ms",
      "p99 ms",
      "events",
    ],
  ];
  for (const [name, t] of [
    ["SSE", r.streams.sse],
    ["graphql-ws", r.streams.ws],
  ] as const) {
    const f = percentiles(t.firstEvent);
    const failed = [...t.failures.values()].reduce((a, b) => a + b, 0);
    streamRows.push([
      name,
      String(t.started),
      String(t.completed),
      String(t.cancelled),
      String(failed),
      fixed(t.started / r.elapsedS),
      fixed(f.p50),
      fixed(f.p99),
      String(t.events),
    ]);
    if (failed > 0) console.log(`${name} failures:`, Object.fromEntries(t.failures));
  }
  console.log(`\n${table(streamRows)}`);

  const sockets = (stats: ProcessStats) => stats.resources.TCPSocketWrap ?? 0;
  const resources = (stats: ProcessStats) =>
    Object.values(stats.resources).reduce((a, b) => a + b, 0);
  console.log(
    `\ngateway CPU ${fixed((r.cpuAfter.gateway - r.cpuBefore.gateway) / 1000)} s, upstream CPU ${fixed((r.cpuAfter.upstream - r.cpuBefore.upstream) / 1000)} s over ${fixed(r.elapsedS)} s`,
  );
  console.log(
    `gateway RSS: start ${inMiB(r.before.gateway.rssBytes)}, end of load ${inMiB(r.end.gateway.rssBytes)}, settled ${inMiB(r.settled.gateway.rssBytes)}`,
  );
  console.log(
    `gateway heap used after a full GC: start ${inMiB(r.before.gateway.heapUsedBytes)}, settled ${inMiB(r.settled.gateway.heapUsedBytes)} (end of load, before GC: ${inMiB(r.end.gateway.heapUsedBytes)})`,
  );
  console.log(
    `upstream RSS: start ${inMiB(r.before.upstream.rssBytes)}, end ${inMiB(r.settled.upstream.rssBytes)}`,
  );
  console.log("\nleaks, once the load stopped:");
  console.log(
    `  gateway_active_subscriptions: sse ${r.sample('gateway_active_subscriptions{transport="sse"}')}, ws ${r.sample('gateway_active_subscriptions{transport="ws"}')} (0 expected)`,
  );
  console.log(
    `  upstream open connections: right after the load ${r.end.upstream.openConnections}, after ${r.settleMs} ms ${r.settled.upstream.openConnections} (0 expected: idle keep-alive sockets expire after 4 s)`,
  );
  console.log(
    `  gateway sockets (TCPSocketWrap): before ${sockets(r.before.gateway)}, after the load ${sockets(r.end.gateway)}, settled with clients gone ${sockets(r.settled.gateway)}`,
  );
  console.log(
    `  gateway libuv resources: before ${resources(r.before.gateway)} ${JSON.stringify(r.before.gateway.resources)}`,
  );
  console.log(
    `                           settled ${resources(r.settled.gateway)} ${JSON.stringify(r.settled.gateway.resources)}`,
  );
  console.log(`graceful stop of both servers: ${fixed(r.stopMs, 0)} ms`);
}
