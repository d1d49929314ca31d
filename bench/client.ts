/**
 * What the REST client costs on top of the wire: the same chat completion (JSON and streamed)
 * through AiSearchClient; through a raw undici request that does no parsing (the floor, and
 * the baseline of the ratios); through raw undici plus the bare minimum of parsing (JSON.parse,
 * eventsource-parser) — the least any correct client does; and through plain `fetch` (what a
 * naive client would use). All in one run against the local AI Search; ratios survive a noisy
 * machine better than absolute figures.
 *
 * The local AI Search runs in a child process (forked from this file), so its CPU time is not
 * charged to the client. Bounded: a fixed number of requests per target and a time cap.
 *
 * Run: npx tsx bench/client.ts [--iterations=200] [--concurrency=32] [--requests=1000]
 */

import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { AiSearchClient } from "../src/upstream/client.ts";
import { type Target, targets } from "./client-targets.ts";
import { percentiles, ratio, table } from "./measure.ts";

const SELF = fileURLToPath(import.meta.url);
const ROLE_FLAG = "--bench-role=upstream";
const ACCOUNT = "bench";
const TOKEN = `bench-${process.pid}`;
/** Throughput is measured in this many rounds per target, rotating the order. */
const ROUNDS = 4;
/** Stops a run that takes longer than this, whatever the settings. */
const TIME_CAP_MS = 120_000;

interface Settings {
  iterations: number;
  concurrency: number;
  requests: number;
  warmup: number;
}

function settingsFrom(argv: readonly string[]): Settings {
  const s: Settings = { iterations: 200, concurrency: 32, requests: 1000, warmup: 50 };
  for (const arg of argv) {
    const match = /^--(iterations|concurrency|requests|warmup)=(\d+)$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}`);
    const value = Math.min(Number(match[2]), 100_000);
    s[match[1] as keyof Settings] = Math.max(1, value);
  }
  return s;
}

// ---- the upstream, in a child process ---------------------------------------------------

async function serveUpstream(): Promise<void> {
  const { startLocalAiSearch } = await import("../src/local/server.ts");
  const local = await startLocalAiSearch({ apiToken: process.env.BENCH_TOKEN, streamDelayMs: 0 });
  const trim = setInterval(() => local.resetRequests(), 1_000);
  const stop = async () => {
    clearInterval(trim);
    await local.close();
    if (process.connected) process.disconnect();
  };
  process.on("message", () => void stop());
  process.on("disconnect", () => void stop());
  process.send!({ url: local.baseUrl });
}

async function startUpstream(): Promise<{ child: ChildProcess; baseUrl: string }> {
  const child = fork(SELF, [ROLE_FLAG], {
    env: { ...process.env, BENCH_TOKEN: TOKEN },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`upstream exited (${code}) before ready`)));
  });
  return { child, baseUrl };
}

async function stopUpstream(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  if (child.connected) child.send("stop");
  const timer = setTimeout(() => child.kill(), 5_000);
  await exited;
  clearTimeout(timer);
}

// ---- measurement ------------------------------------------------------------------------

interface Sequential {
  total: number[];
  firstDelta: number[];
}

/**
 * `n` sequential asks per target, round-robin across targets one request at a time, so that
 * drift (JIT, neighbours, thermal) hits every target alike.
 */
async function sequential(
  kind: "json" | "stream",
  all: Target[],
  n: number,
  deadline: number,
): Promise<Map<string, Sequential>> {
  const out = new Map<string, Sequential>(all.map((t) => [t.name, { total: [], firstDelta: [] }]));
  for (let i = 0; i < n && performance.now() < deadline; i++) {
    for (let j = 0; j < all.length; j++) {
      const t = all[(i + j) % all.length]!;
      const samples = out.get(t.name)!;
      const start = performance.now();
      if (kind === "json") await t.json();
      else samples.firstDelta.push(await t.stream(start));
      samples.total.push(performance.now() - start);
    }
  }
  return out;
}

interface Concurrent {
  rps: number;
  /** CPU (user + system) this process spent per completed request, in µs. */
  cpuUs: number;
}

/** `requests` asks with `concurrency` in flight. */
async function concurrent(
  kind: "json" | "stream",
  t: Target,
  requests: number,
  concurrency: number,
  deadline: number,
): Promise<Concurrent> {
  let next = 0;
  let done = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const worker = async () => {
    while (next < requests && performance.now() < deadline) {
      next++;
      if (kind === "json") await t.json();
      else await t.stream(performance.now());
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const used = process.cpuUsage(cpu);
  return {
    rps: done / ((performance.now() - started) / 1000),
    cpuUs: (used.user + used.system) / Math.max(1, done),
  };
}

const ms = (v: number) => v.toFixed(2);
/** A row's figure over the baseline row's. */
const over = (v: number, base: number) => ratio(v / base);

interface Row {
  /** Sequential round trip (JSON) or time to done (stream), ms. */
  p50: number;
  p99: number;
  /** Streams only: time to the first delta, ms. */
  firstP50?: number;
  firstP99?: number;
  rps: number;
  cpuUs: number;
}

export interface ClientBenchResult {
  settings: Settings;
  json: Record<string, Row>;
  stream: Record<string, Row>;
}

function measureRows(
  all: Target[],
  seq: Map<string, Sequential>,
  load: Map<string, Concurrent[]>,
): Record<string, Row> {
  const rows: Record<string, Row> = {};
  for (const t of all) {
    const runs = load.get(t.name)!;
    const mean = (pick: (c: Concurrent) => number) =>
      runs.reduce((a, c) => a + pick(c), 0) / Math.max(1, runs.length);
    const total = percentiles(seq.get(t.name)!.total);
    const row: Row = {
      p50: total.p50,
      p99: total.p99,
      rps: mean((c) => c.rps),
      cpuUs: mean((c) => c.cpuUs),
    };
    const first = seq.get(t.name)!.firstDelta;
    if (first.length > 0) {
      const { p50, p99 } = percentiles(first);
      row.firstP50 = p50;
      row.firstP99 = p99;
    }
    rows[t.name] = row;
  }
  return rows;
}

function print(kind: "json" | "stream", rows: Record<string, Row>, base: string): void {
  const b = rows[base]!;
  const streamed = kind === "stream";
  const head = streamed
    ? [
        "path",
        "1st p50",
        "1st p99",
        "done p50",
        "done p99",
        "req/s",
        "cpu µs/req",
        "1st",
        "done",
        "req/s",
        "cpu",
      ]
    : ["path", "p50 ms", "p99 ms", "req/s", "cpu µs/req", "p50", "req/s", "cpu"];
  const lines = [head];
  for (const [name, r] of Object.entries(rows)) {
    const firstCols = streamed ? [ms(r.firstP50 ?? 0), ms(r.firstP99 ?? 0)] : [];
    const firstRatio = streamed ? [over(r.firstP50 ?? 0, b.firstP50 ?? 1)] : [];
    lines.push([
      name,
      ...firstCols,
      ms(r.p50),
      ms(r.p99),
      r.rps.toFixed(0),
      r.cpuUs.toFixed(0),
      ...firstRatio,
      over(r.p50, b.p50),
      over(r.rps, b.rps),
      over(r.cpuUs, b.cpuUs),
    ]);
  }
  console.log(
    streamed
      ? "\n(b) streamed chat completion: time to first delta / to done (ratios vs raw undici)"
      : "\n(a) JSON chat completion round trip (ratios vs raw undici)",
  );
  console.log(table(lines));
}

export async function main(argv: readonly string[] = []): Promise<ClientBenchResult> {
  const s = settingsFrom(argv);
  const deadline = performance.now() + TIME_CAP_MS;
  console.log(
    `client bench — node ${process.version}; per target: ${s.warmup} warm-up, ${s.iterations} sequential, ${s.requests} at ${s.concurrency} in flight`,
  );
  const upstream = await startUpstream();
  const pool = new Pool(new URL(upstream.baseUrl).origin, { connections: s.concurrency });
  const client = new AiSearchClient({
    baseUrl: upstream.baseUrl,
    accountId: ACCOUNT,
    credentials: { kind: "token", token: TOKEN },
    connections: s.concurrency,
  });
  try {
    const all = targets(upstream.baseUrl, pool, client, { account: ACCOUNT, token: TOKEN });
    const result: ClientBenchResult = { settings: s, json: {}, stream: {} };
    for (const kind of ["json", "stream"] as const) {
      await sequential(kind, all, s.warmup, deadline);
      const seq = await sequential(kind, all, s.iterations, deadline);
      // Throughput in rounds, rotating who goes first, for the same reason.
      const load = new Map<string, Concurrent[]>(all.map((t) => [t.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (let j = 0; j < all.length; j++) {
          const t = all[(round + j) % all.length]!;
          const per = Math.ceil(s.requests / ROUNDS);
          load.get(t.name)!.push(await concurrent(kind, t, per, s.concurrency, deadline));
        }
      }
      result[kind] = measureRows(all, seq, load);
      print(kind, result[kind], all[0]!.name);
    }
    if (performance.now() >= deadline)
      console.log(`\n(stopped early at the ${TIME_CAP_MS} ms cap)`);
    return result;
  } finally {
    await client.close();
    await pool.close();
    await stopUpstream(upstream.child);
  }
}

if (process.argv.includes(ROLE_FLAG)) {
  await serveUpstream();
} else if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  try {
    await main(process.argv.slice(2));
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  }
}
