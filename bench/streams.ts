/**
 * Streams at scale: many slow streamed answers at once (DELTAS deltas, one every DELTA_MS,
 * opened over RAMP_MS), relayed by the gateway over graphql-ws (PER_SOCKET subscriptions per
 * socket), over SSE (one connection per stream) and over graphql-sse's single connection mode
 * (PER_SOCKET subscriptions per event stream; path `sse-single`), against the same streams read straight from the upstream's SSE, in
 * one run. Each row (level × path) gets a fresh gateway and fresh client processes
 * (bench/streams-client.ts), so peak RSS and CPU are that row's alone.
 * With `--baseline-ref`, the trees take turns relaying first (the turn moves with each level
 * and transport), and the table lists the rows in the order they ran.
 *
 * Reported per row: streams completed, failed and unfinished at the deadline (never a hang:
 * after the ramp, the streams' own length and GRACE_MS, what is still open is abandoned and
 * counted); lost deltas (checked against the stub upstream's numbering); time to first event
 * p50/p99 over every stream (one that never got its first event counts as slower than any
 * that did); CPU per relayed delta of the relaying process (the gateway; for the direct path
 * the clients, which do the reading a relay does) and its ratio to direct; the relaying
 * process's event-loop delay p99, how busy its loop was, and peak RSS; the clients' own loop
 * delay (high means the load generator, not the gateway, was the limit); and why streams failed.
 *
 * A saturated relay shows as a busy loop near 100%, not as a long delay: its loop still turns
 * every ~100 ms, and the streams it has not got to wait in the kernel, unseen by any metric of
 * its own: in the listen backlog (the row's "unanswered" streams never got response headers)
 * and, once that is full, as connections whose handshake the kernel dropped and retries
 * ("listen drops", the machine's TcpExt ListenOverflows over the row; rows run one at a time).
 *
 * Settings: env BENCH_<NAME> or flags --<name>=value; e.g. --levels=1000,5000,10000.
 */

import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import os from "node:os";
import nodePath from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { profileDirectory, summariseFile } from "./cpu-profile.ts";
import { fixed, loadAverage, mib, percentiles, ratio, table } from "./measure.ts";
import { type ServerProcess, stopAll } from "./processes.ts";
import { count, numberList, readSettings, runIfMain } from "./settings.ts";
import type { ClientResult, Plan, Transport } from "./streams-client.ts";
import {
  type Credentials,
  newCredentials,
  startGateway,
  startUpstream,
  TREE_SETTINGS,
  treeOptions,
} from "./targets.ts";
import { type Tree, thisTree, treesAt } from "./trees.ts";
import { CHAT_PATH, DIRECT_BODY } from "./workload.ts";

const SETTINGS = z
  .object({
    LEVELS: z // concurrent streams per row, comma-separated
      .string()
      .regex(/^\d+(,\d+)*$/, "a comma-separated list of stream counts, e.g. 1000,5000")
      .refine((list) => numberList(list).every((n) => n >= 1 && n <= 20_000), "each 1 to 20000")
      .default("1000"),
    PATHS: z // which of direct, ws (graphql-ws), sse, sse-single
      .string()
      .regex(
        /^(direct|ws|sse|sse-single)(,(direct|ws|sse|sse-single))*$/,
        "a comma-separated list of direct, ws, sse, sse-single",
      )
      .default("direct,ws,sse"),
    DELTAS: count(1, 10_000).default(40), // per stream
    DELTA_MS: count(0, 60_000).default(500), // between deltas
    RAMP_MS: count(0, 600_000).default(8_000), // all streams are opened within this
    PER_SOCKET: count(1, 10_000).default(100), // subscriptions per graphql-ws socket or single-connection stream
    CLIENTS: count(1, 16).default(2), // load-generating processes
    GRACE_MS: count(0, 600_000).default(15_000), // waited beyond the last stream's own end
    LATENCY_MS: count(0, 10_000).default(20), // upstream, before the first event
    CONNECT_TIMEOUT_MS: count(100, 120_000).default(10_000), // per client connection
    BASELINE_REF: z.string().min(1).optional(), // also relay through gateways from these commits (a,b,…)
    CPU_PROF: z.stringbool().default(false), // profile this tree's gateway rows (their CPU then counts the profiler)
    CPU_PROF_DIR: z.string().optional(), // where the .cpuprofile files go (default: a temp dir)
    ...TREE_SETTINGS, // GATEWAY_ENV, GATEWAY_NODE_FLAGS: for this tree's gateway only
  })
  .strict();
type Settings = z.infer<typeof SETTINGS>;

interface Row {
  level: number;
  /** Which of `--levels` this row ran for: a level may be listed twice, as a second round. */
  levelIndex: number;
  path: string;
  clients: ClientResult[];
  relay: { cpuMs: number; peakRssBytes: number; lagP99Ms: number; loopBusy?: number };
  /** Connections the kernel could not queue for accept during the row (whole machine). */
  listenDrops: number;
  upstreamCpuMs: number;
  elapsedMs: number;
}

interface RowPath {
  label: string;
  transport: Transport;
  /** The gateway's tree; none for the direct path. */
  tree?: Tree;
  /** This tree's gateway, which GATEWAY_ENV applies to (not the baseline's). */
  ownTree?: boolean;
}

/** `list` begun `by` places later, wrapping round. */
function rotate<T>(list: readonly T[], by: number): T[] {
  const start = by % list.length;
  return [...list.slice(start), ...list.slice(0, start)];
}

const TRANSPORT_LABELS = {
  ws: "graphql-ws",
  sse: "SSE",
  "sse-single": "SSE, one connection",
} as const;

const CLIENT = fileURLToPath(new URL("./streams-client.ts", import.meta.url));

/** The kernel's count of connections dropped because a listen queue was full (TcpExt). */
function listenOverflows(): number {
  const lines = readFileSync("/proc/net/netstat", "utf8")
    .split("\n")
    .filter((line) => line.startsWith("TcpExt:"));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf("ListenOverflows")] ?? Number.NaN);
}

/** The soft limit on open files: every stream holds a socket in the client, relay and upstream. */
function openFileLimit(): number {
  const limits = readFileSync("/proc/self/limits", "utf8");
  return Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? Number.NaN);
}

async function runClients(plans: Plan[], deadlineMs: number, onGo: () => Promise<void>) {
  const children: ChildProcess[] = plans.map(() =>
    fork(CLIENT, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  try {
    const replies = (child: ChildProcess) =>
      new Promise<unknown>((resolve, reject) => {
        child.once("message", resolve);
        child.once("exit", (code) => reject(new Error(`stream client exited (${code})`)));
      });
    const ready = children.map((child) => replies(child));
    for (const [i, child] of children.entries()) child.send({ plan: plans[i] });
    await Promise.all(ready);
    await onGo();
    // A common start a second ahead, so every client's ramp lines up with the others'.
    const go = Date.now() + 1_000;
    const results = children.map((child) => replies(child));
    for (const child of children) child.send({ go });
    const bound = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error("stream clients did not report")),
        deadlineMs + 60_000,
      ).unref(),
    );
    return (await Promise.race([Promise.all(results), bound])).map(
      (r) => (r as { result: ClientResult }).result,
    );
  } finally {
    // They exit once they have reported; one that does not within 5 s is ended.
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null) return;
        const timer = setTimeout(() => child.kill(), 5_000);
        await once(child, "exit");
        clearTimeout(timer);
      }),
    );
  }
}

async function runRow(
  s: Settings,
  level: number,
  path: RowPath,
  upstream: ServerProcess,
  credentials: Credentials,
): Promise<Omit<Row, "levelIndex">> {
  let gateway: ServerProcess | undefined;
  if (path.tree) {
    const { env, nodeFlags } = treeOptions(s, path.ownTree === true);
    gateway = await startGateway({
      name: path.label,
      tree: path.tree,
      credentials,
      upstream,
      env: {
        // Production caps are per client, and the bench is one client: raised, still enforced.
        MAX_SUBSCRIPTIONS_PER_CONNECTION: String(s.PER_SOCKET),
        MAX_SUBSCRIPTIONS_PER_CLIENT: "1000000000",
        MAX_CONNECTIONS_PER_CLIENT: "1000000000",
        ...env,
      },
      nodeFlags,
    });
  }
  const streamMs = s.LATENCY_MS + s.DELTAS * s.DELTA_MS;
  const deadlineMs = s.RAMP_MS + streamMs + s.GRACE_MS;
  const direct = path.transport === "direct";
  const plans: Plan[] = Array.from({ length: s.CLIENTS }, (_, c) => ({
    transport: path.transport,
    url: direct ? `${upstream.url}${CHAT_PATH}` : gateway!.url,
    headers: { authorization: `Bearer ${direct ? credentials.token : credentials.apiKey}` },
    directBody: JSON.stringify({ ...DIRECT_BODY, stream: true }),
    streams: Array.from(
      { length: Math.ceil((level - c) / s.CLIENTS) },
      (_, j) => c + j * s.CLIENTS,
    ),
    total: level,
    rampMs: s.RAMP_MS,
    deltas: s.DELTAS,
    perSocket: s.PER_SOCKET,
    deadlineMs,
    connectTimeoutMs: s.CONNECT_TIMEOUT_MS,
  }));
  const profiled = s.CPU_PROF && path.ownTree === true && gateway !== undefined;
  try {
    let before: { relay?: number; upstream: number } = { upstream: 0 };
    const dropsBefore = listenOverflows();
    const started = performance.now();
    const clients = await runClients(plans, deadlineMs, async () => {
      before = {
        relay: (await gateway?.stats({ resetLag: true }))?.cpuMs,
        upstream: (await upstream.stats()).cpuMs,
      };
      if (profiled) await gateway!.startProfile();
    });
    const elapsedMs = performance.now() - started;
    const after = await gateway?.stats();
    // After the stats, so writing the profile is not charged to the row.
    if (profiled) await profileOf(s, gateway!, `${level}-${path.transport}`);
    const relay = after
      ? {
          cpuMs: after.cpuMs - before.relay!,
          peakRssBytes: after.peakRssBytes,
          lagP99Ms: after.lag.p99,
          loopBusy: after.loopBusy,
        }
      : {
          cpuMs: clients.reduce((n, c) => n + c.cpuMs, 0),
          peakRssBytes: clients.reduce((n, c) => n + c.peakRssBytes, 0),
          lagP99Ms: Math.max(...clients.map((c) => c.lagP99Ms)),
        };
    const upstreamCpuMs = (await upstream.stats()).cpuMs - before.upstream;
    const listenDrops = listenOverflows() - dropsBefore;
    return { level, path: path.label, clients, relay, upstreamCpuMs, listenDrops, elapsedMs };
  } finally {
    await gateway?.stop();
  }
}

/** Stops the row's profile, keeps it and prints its top entries. */
async function profileOf(s: Settings, gateway: ServerProcess, name: string) {
  const dir = await profileDirectory(s.CPU_PROF_DIR);
  const file = nodePath.join(dir, `streams-${name}-${Date.now()}.cpuprofile`);
  await gateway.stopProfile(file);
  console.log(`\nCPU profile of ${name} (this tree's gateway): ${file}`);
  await summariseFile(file);
}

function printRows(s: Settings, rows: Row[]) {
  const sum = (r: Row, f: (c: ClientResult) => number) => r.clients.reduce((n, c) => n + f(c), 0);
  const directCpu = new Map(
    rows
      .filter((r) => r.path === "direct SSE")
      .map((r) => [
        r.levelIndex,
        r.relay.cpuMs /
          Math.max(
            1,
            sum(r, (c) => c.deltas),
          ),
      ]),
  );
  const waitS = fixed((s.RAMP_MS + s.LATENCY_MS + s.DELTAS * s.DELTA_MS + s.GRACE_MS) / 1000, 0);
  const ms = (v: number) => (Number.isFinite(v) ? fixed(v, 0) : `>${waitS} s`);
  const lines = rows.map((r) => {
    const first = percentiles(
      r.clients.flatMap((c) => c.firstEvent.map((t) => (t < 0 ? Number.POSITIVE_INFINITY : t))),
    );
    const deltas = sum(r, (c) => c.deltas);
    const perDelta = r.relay.cpuMs / Math.max(1, deltas);
    const base = directCpu.get(r.levelIndex);
    const errors = new Map<string, number>();
    for (const c of r.clients)
      for (const [k, n] of Object.entries(c.errors)) errors.set(k, (errors.get(k) ?? 0) + n);
    return [
      String(r.level),
      r.path,
      String(sum(r, (c) => c.completed)),
      String(sum(r, (c) => c.failed)),
      String(sum(r, (c) => c.unfinished)),
      r.path.endsWith("SSE") ? String(sum(r, (c) => c.unanswered)) : "—",
      String(sum(r, (c) => c.lostDeltas)),
      ms(first.p50),
      ms(first.p99),
      fixed(perDelta, 3),
      base ? ratio(perDelta / base) : "—",
      fixed(r.relay.lagP99Ms, 0),
      r.relay.loopBusy === undefined ? "—" : `${fixed(100 * r.relay.loopBusy, 0)}%`,
      mib(r.relay.peakRssBytes),
      fixed(Math.max(...r.clients.map((c) => c.lagP99Ms)), 0),
      fixed(r.upstreamCpuMs / Math.max(1, deltas), 3),
      fixed(r.elapsedMs / 1000, 0),
      String(r.listenDrops),
      [...errors].map(([k, n]) => `${k}: ${n}`).join(", ") || "—",
    ];
  });
  console.log(
    table([
      [
        "streams",
        "path",
        "done",
        "failed",
        "unfinished",
        "unanswered",
        "lost deltas",
        "1st p50 ms",
        "1st p99 ms",
        "CPU ms/delta",
        "÷ direct",
        "lag p99 ms",
        "loop busy",
        "peak MiB",
        "client lag p99",
        "upstream ms/delta",
        "took s",
        "listen drops",
        "failures",
      ],
      ...lines,
    ]),
  );
}

export async function main(argv: readonly string[] = []) {
  const s = readSettings(SETTINGS, argv);
  const levels = numberList(s.LEVELS);
  const wanted = new Set(s.PATHS.split(","));
  const fds = openFileLimit();
  console.log(
    `streams bench: node ${process.version}, ${os.cpus().length} cores, open-file limit ${fds}`,
  );
  console.log(
    `load average before: ${loadAverage()}; ${s.DELTAS} deltas every ${s.DELTA_MS} ms, ramp ${s.RAMP_MS} ms, ${s.PER_SOCKET} subscriptions per socket, ${s.CLIENTS} client processes`,
  );
  for (const level of levels) {
    // Relaying over SSE holds a client socket and an upstream socket per stream.
    if (wanted.has("sse") && 2 * level + 500 > fds) {
      console.log(
        `warning: ${level} SSE streams need about ${2 * level} open files in the gateway; the limit is ${fds}`,
      );
    }
  }
  const credentials = newCredentials();
  const current = await thisTree();
  const baselines = await treesAt(s.BASELINE_REF);
  const trees = [current, ...baselines];
  const treeName = (tree: Tree) => (baselines.length > 0 ? `gateway ${tree.label}` : "gateway");
  // Which tree relays first turns with each level and transport: the first gateway rows of a
  // run have cost more than later ones (whichever code ran there), so a fixed order would
  // charge that to the same tree every time.
  const pathsAt = (levelIndex: number): RowPath[] => [
    ...(wanted.has("direct") ? [{ label: "direct SSE", transport: "direct" as const }] : []),
    ...(["ws", "sse", "sse-single"] as const)
      .filter((transport) => wanted.has(transport))
      .flatMap((transport, t) =>
        rotate(trees, levelIndex + t).map((tree) => ({
          label: `${treeName(tree)} ${TRANSPORT_LABELS[transport]}`,
          transport,
          tree,
          ownTree: tree === current,
        })),
      ),
  ];
  let upstream: ServerProcess | undefined;
  const rows: Row[] = [];
  try {
    upstream = await startUpstream(credentials, {
      kind: "stub",
      latencyMs: s.LATENCY_MS,
      streamDelayMs: s.DELTA_MS,
      streamDeltas: s.DELTAS,
    });
    for (const [levelIndex, level] of levels.entries()) {
      for (const p of pathsAt(levelIndex)) {
        console.log(`… ${level} streams, ${p.label} (load average ${loadAverage()})`);
        rows.push({ ...(await runRow(s, level, p, upstream, credentials)), levelIndex });
        // Sockets the row closed linger in TIME_WAIT; give the next row a quiet start.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    }
    console.log("");
    printRows(s, rows);
    console.log(`\nload average after: ${loadAverage()}`);
    return rows;
  } finally {
    await stopAll([upstream]);
    await Promise.all(baselines.map((tree) => tree.cleanup()));
  }
}

await runIfMain(import.meta.url, main);
