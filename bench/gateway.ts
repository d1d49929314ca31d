/**
 * What one operation costs: the same chat completion asked, in one run, against the same
 * upstream (bench/stub-upstream.ts: fixed latency, almost no CPU), through
 *
 * - **direct**: the REST call straight to the upstream;
 * - **minimal Yoga**: bench/minimal-yoga.ts, one hand-written resolver (the floor);
 * - **gateway**: this tree's gateway with production defaults (info logs on a pipe the bench
 *   drains, metrics, every hardening plugin);
 * - optionally **quiet** (the same at `LOG_LEVEL=warn METRICS=false`) and **baseline**: a
 *   gateway built from another commit (`--baseline-ref=<commit>`), for before/after in one run;
 * - optionally **mesh** (`--mesh`): GraphQL Mesh over an OpenAPI description of the same REST
 *   call (bench/mesh.ts; installed into bench/mesh/ on first use), for issue 8's throughput
 *   target against Mesh.
 *
 * (a) `chatCompletion` under a closed-loop load of CONCURRENCY in flight, in rounds that rotate
 *     which target goes first, so a drift in machine load hits every target alike: req/s,
 *     p50/p99, each server's CPU per request (from its own process), RSS after the load and at
 *     its peak, and the ratios issue 8 sets targets for (req/s vs direct; CPU and RSS vs
 *     minimal Yoga; this tree vs the baseline);
 * (b) time to the first event of a streamed answer (bench/first-event.ts);
 * `--cpu-prof[=target]` profiles one more round of a gateway and prints its top entries.
 *
 * Settings: env BENCH_<NAME> or flags --<name>=value (e.g. --latency-ms=50); see SETTINGS.
 */

import os from "node:os";
import path from "node:path";
import { Agent } from "undici";
import { z } from "zod";
import { profileDirectory, summariseFile } from "./cpu-profile.ts";
import { benchFirstEvent } from "./first-event.ts";
import {
  askOnce,
  fixed,
  load,
  loadAverage,
  mib,
  percentiles,
  ratio,
  type Target,
  table,
} from "./measure.ts";
import { type MeshSupergraph, meshContent, meshTarget, prepareMesh, startMesh } from "./mesh.ts";
import { type ServerProcess, stopAll } from "./processes.ts";
import { count, readSettings, runIfMain } from "./settings.ts";
import {
  type Credentials,
  newCredentials,
  startGateway,
  startMinimalYoga,
  startUpstream,
  TREE_SETTINGS,
  treeOptions,
} from "./targets.ts";
import { type Tree, thisTree, treesAt } from "./trees.ts";
import { ASK, CHAT_PATH, DIRECT_BODY, INPUT } from "./workload.ts";

const SETTINGS = z
  .object({
    LATENCY_MS: count(0, 10_000).default(20), // injected before every upstream answer
    CONCURRENCY: count(1, 1_024).default(64), // requests in flight during the load test
    ROUNDS: count(1, 20).default(5), // per target; the order rotates every round
    DURATION_MS: count(100, 60_000).default(2_500), // per round
    WARMUP_MS: count(0, 60_000).default(1_500), // per target: JIT, connection pools
    SAMPLES: count(1, 1_000).default(100), // sequential first-event samples per path
    STREAM_DELAY_MS: count(0, 1_000).default(0), // between upstream deltas
    UPSTREAM: z.enum(["stub", "local"]).default("stub"), // see bench/stub-upstream.ts
    QUIET: z.stringbool().default(false), // add the gateway at LOG_LEVEL=warn METRICS=false
    BASELINE_REF: z.string().min(1).optional(), // add gateways built from these commits (a,b,…)
    MESH: z.stringbool().default(false), // add GraphQL Mesh (installs bench/mesh/ the first time)
    ...TREE_SETTINGS, // GATEWAY_ENV, GATEWAY_NODE_FLAGS: for this tree's gateways only
    CPU_PROF: z.string().default(""), // "true" (= gateway) or a target: gateway|quiet|baseline[N]|yoga|mesh
    CPU_PROF_DIR: z.string().optional(), // where the .cpuprofile goes (default: a temp dir)
  })
  .strict();
type Settings = z.infer<typeof SETTINGS>;

interface Path {
  key: string;
  label: string;
  target: Target;
  /** The process answering; none for the direct call (the upstream is measured apart). */
  server?: ServerProcess;
  /** The completion text of an answer, when not at `data.chatCompletion.content` (Mesh). */
  content?: (answer: unknown) => string | undefined;
}

interface Round {
  latencies: number[];
  errors: number;
  elapsedMs: number;
  serverCpuMs: number;
  upstreamCpuMs: number;
  /** Requests the upstream received: one per operation, or the paths do different work. */
  upstreamRequests: number;
  logBytes: number;
}

/** `baseline` for the first `--baseline-ref`, `baseline2`, `baseline3`… for the others. */
const baselineKey = (i: number) => (i === 0 ? "baseline" : `baseline${i + 1}`);
const isBaseline = (key: string) => /^baseline\d*$/.test(key);

const JSON_HEADERS = { "content-type": "application/json", accept: "application/json" };

function graphqlTarget(name: string, url: string, headers: Record<string, string>): Target {
  return {
    name,
    url: new URL(url),
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify({ query: ASK, variables: { input: INPUT } }),
    ok: (text) => {
      const body = JSON.parse(text);
      return body.errors === undefined && typeof body.data?.chatCompletion?.content === "string";
    },
  };
}

async function startPaths(
  s: Settings,
  credentials: Credentials,
  upstream: ServerProcess,
  trees: { current: Tree; baselines: Tree[] },
  mesh?: MeshSupergraph,
) {
  const auth = { authorization: `Bearer ${credentials.apiKey}` };
  const gateway = (key: string, label: string, tree: Tree, extra: Record<string, string> = {}) => {
    const { env, nodeFlags } = treeOptions(s, tree === trees.current);
    return startGateway({
      name: label,
      tree,
      credentials,
      upstream,
      env: { ...env, ...extra },
      nodeFlags,
    }).then((server) => ({ key, label, server, target: graphqlTarget(label, server.url, auth) }));
  };
  const paths: Path[] = [
    {
      key: "direct",
      label: "direct upstream",
      target: {
        name: "direct",
        url: new URL(`${upstream.url}${CHAT_PATH}`),
        headers: { ...JSON_HEADERS, authorization: `Bearer ${credentials.token}` },
        body: JSON.stringify(DIRECT_BODY),
        ok: (text) => Array.isArray(JSON.parse(text).choices),
      },
    },
  ];
  try {
    // One at a time: start-ups compile (tsc, tsx) and would otherwise slow each other down.
    const yoga = await startMinimalYoga(credentials, upstream);
    paths.push({
      key: "yoga",
      label: "minimal Yoga",
      server: yoga,
      target: graphqlTarget("yoga", yoga.url, {}),
    });
    paths.push(await gateway("gateway", `gateway, ${trees.current.label}`, trees.current));
    if (s.QUIET) {
      const quiet = { LOG_LEVEL: "warn", METRICS: "false" };
      paths.push(await gateway("quiet", "gateway, warn logs, no metrics", trees.current, quiet));
    }
    for (const [i, tree] of trees.baselines.entries()) {
      paths.push(await gateway(baselineKey(i), `gateway, ${tree.label}`, tree));
    }
    if (mesh) {
      const server = await startMesh(mesh, credentials, upstream);
      const target = meshTarget(server.url);
      paths.push({ key: "mesh", label: "GraphQL Mesh", server, target, content: meshContent });
    }
  } catch (error) {
    await stopAll(paths.map((p) => p.server));
    throw error;
  }
  return paths;
}

async function round(
  agent: Agent,
  p: Path,
  upstream: ServerProcess,
  ms: number,
  concurrency: number,
) {
  const before = await Promise.all([p.server?.stats(), upstream.stats()]);
  const logsBefore = p.server?.outputBytes() ?? 0;
  const result = await load(agent, p.target, ms, concurrency);
  const after = await Promise.all([p.server?.stats(), upstream.stats()]);
  return {
    ...result,
    serverCpuMs: (after[0]?.cpuMs ?? 0) - (before[0]?.cpuMs ?? 0),
    upstreamCpuMs: after[1].cpuMs - before[1].cpuMs,
    // NaN when the upstream does not count (the real local AI Search).
    upstreamRequests: (after[1].extra.requests ?? Number.NaN) - (before[1].extra.requests ?? 0),
    logBytes: (p.server?.outputBytes() ?? 0) - logsBefore,
  } satisfies Round;
}

function summarise(rounds: Round[]) {
  const sum = (f: (r: Round) => number) => rounds.reduce((n, r) => n + f(r), 0);
  const done = sum((r) => r.latencies.length);
  const perRound = rounds.map((r) => r.latencies.length / (r.elapsedMs / 1000));
  return {
    rps: done / (sum((r) => r.elapsedMs) / 1000),
    range: `${fixed(Math.min(...perRound), 0)}–${fixed(Math.max(...perRound), 0)}`,
    errors: sum((r) => r.errors),
    serverCpuMs: sum((r) => r.serverCpuMs) / done,
    /** CPU ms per request of each round, in round order, for round-by-round ratios. */
    cpuPerRound: rounds.map((r) => r.serverCpuMs / r.latencies.length),
    upstreamCpuMs: sum((r) => r.upstreamCpuMs) / done,
    upstreamRequests: sum((r) => r.upstreamRequests) / done,
    logBytes: sum((r) => r.logBytes) / done,
    ...percentiles(rounds.flatMap((r) => r.latencies)),
  };
}
type Summary = ReturnType<typeof summarise> & { rssBytes?: number; peakRssBytes?: number };

/** (a) chatCompletion under load, every target in every round, the order rotating. */
async function benchLoad(s: Settings, agent: Agent, paths: Path[], upstream: ServerProcess) {
  for (const p of paths) await load(agent, p.target, s.WARMUP_MS, s.CONCURRENCY);
  const rounds = new Map<Path, Round[]>(paths.map((p) => [p, []]));
  for (let r = 0; r < s.ROUNDS; r++) {
    for (let i = 0; i < paths.length; i++) {
      const p = paths[(r + i) % paths.length]!;
      rounds.get(p)!.push(await round(agent, p, upstream, s.DURATION_MS, s.CONCURRENCY));
    }
  }
  const results = new Map<string, Summary>();
  for (const p of paths) {
    const stats = await p.server?.stats();
    results.set(p.key, {
      ...summarise(rounds.get(p)!),
      rssBytes: stats?.rssBytes,
      peakRssBytes: stats?.peakRssBytes,
    });
  }
  printLoad(s, paths, results);
  return Object.fromEntries(results);
}

/**
 * `x`'s CPU per request over `base`'s, round by round: the two ran in the same rotation, seconds
 * apart, so a neighbour's burst on this shared machine weighs on both. The median and the range
 * say how far one total ratio can be trusted.
 */
function pairedCpu(x: Summary, base: Summary): string {
  const ratios = x.cpuPerRound.map((cpu, i) => cpu / base.cpuPerRound[i]!);
  if (ratios.length === 0 || ratios.some((r) => !Number.isFinite(r))) return "—";
  const { p50 } = percentiles(ratios);
  return `${ratio(p50)} median of ${ratios.length} (${ratio(Math.min(...ratios))}–${ratio(Math.max(...ratios))})`;
}

function printLoad(s: Settings, paths: Path[], results: Map<string, Summary>) {
  const direct = results.get("direct")!;
  const yoga = results.get("yoga")!;
  const over = (v: number | undefined, base: number | undefined) =>
    v === undefined || base === undefined ? "—" : ratio(v / base);
  // [header, cell]: "—" where a figure does not apply (the direct call has no server).
  const columns: [string, (x: Summary, p: Path) => string][] = [
    ["req/s", (x) => fixed(x.rps, 0)],
    ["per round", (x) => x.range],
    ["p50 ms", (x) => fixed(x.p50)],
    ["p99 ms", (x) => fixed(x.p99)],
    ["errors", (x) => String(x.errors)],
    ["CPU ms/req", (x, p) => (p.server ? fixed(x.serverCpuMs, 2) : "—")],
    ["upstream CPU", (x) => fixed(x.upstreamCpuMs, 3)],
    [
      "upstream req/op",
      (x) => (Number.isNaN(x.upstreamRequests) ? "—" : fixed(x.upstreamRequests, 2)),
    ],
    ["RSS MiB", (x) => (x.rssBytes ? mib(x.rssBytes) : "—")],
    ["peak MiB", (x) => (x.peakRssBytes ? mib(x.peakRssBytes) : "—")],
    ["log B/req", (x, p) => (p.server ? fixed(x.logBytes, 0) : "—")],
    ["req/s ÷ direct", (x) => ratio(x.rps / direct.rps)],
    ["CPU ÷ Yoga", (x, p) => (p.server ? over(x.serverCpuMs, yoga.serverCpuMs) : "—")],
    ["RSS ÷ Yoga", (x) => over(x.rssBytes, yoga.rssBytes)],
  ];
  console.log(
    `(a) chatCompletion, ${s.CONCURRENCY} in flight, ${s.ROUNDS} rounds × ${s.DURATION_MS} ms per path; CPU is each process's own, RSS is after the load`,
  );
  const rows = paths.map((p) => [
    p.label,
    ...columns.map(([, cell]) => cell(results.get(p.key)!, p)),
  ]);
  console.log(table([["path", ...columns.map(([header]) => header)], ...rows]));
  const gateway = results.get("gateway")!;
  const mesh = results.get("mesh");
  console.log(
    `issue 8 targets for the defaults: CPU/mutation ≤ 1.00× minimal Yoga's (now ${over(gateway.serverCpuMs, yoga.serverCpuMs)}); RSS after load ≤ 1.50× (now ${over(gateway.rssBytes, yoga.rssBytes)}); req/s ≥ 1.60× GraphQL Mesh's (${mesh ? `now ${over(gateway.rps, mesh.rps)}` : "not measured: --mesh"})`,
  );
  console.log(`gateway ÷ minimal Yoga, CPU/req round by round: ${pairedCpu(gateway, yoga)}`);
  for (const p of paths.filter((x) => isBaseline(x.key) || x.key === "mesh")) {
    const baseline = results.get(p.key)!;
    console.log(
      `this tree ÷ ${p.label.replace(/^gateway, /, "")}: req/s ${over(gateway.rps, baseline.rps)}, CPU/req ${over(gateway.serverCpuMs, baseline.serverCpuMs)}, p50 ${over(gateway.p50, baseline.p50)}, p99 ${over(gateway.p99, baseline.p99)}, RSS ${over(gateway.rssBytes, baseline.rssBytes)}; CPU/req round by round ${pairedCpu(gateway, baseline)}`,
    );
  }
}

/** One more round of `key` under the inspector's profiler; prints and keeps the profile. */
async function profileRound(s: Settings, agent: Agent, paths: Path[], upstream: ServerProcess) {
  const key = s.CPU_PROF === "true" ? "gateway" : s.CPU_PROF;
  const p = paths.find((x) => x.key === key && x.server);
  if (!p?.server)
    throw new Error(
      `--cpu-prof=${key}: no such server (${paths
        .filter((x) => x.server)
        .map((x) => x.key)
        .join(", ")})`,
    );
  const dir = await profileDirectory(s.CPU_PROF_DIR);
  const file = path.join(dir, `${key}-${Date.now()}.cpuprofile`);
  await p.server.startProfile();
  const r = await round(agent, p, upstream, s.DURATION_MS, s.CONCURRENCY);
  await p.server.stopProfile(file);
  console.log(
    `\n(c) CPU profile of ${p.label}, one round at ${s.CONCURRENCY} in flight (${r.latencies.length} requests, not counted above)`,
  );
  console.log(`profile: ${file} (opens in Chrome DevTools' Performance panel)`);
  await summariseFile(file);
}

export async function main(argv: readonly string[] = []) {
  const s = readSettings(SETTINGS, argv);
  const cpus = os.cpus();
  console.log(`gateway bench: node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? "?"}`);
  console.log(
    `load average before: ${loadAverage()}; upstream ${s.UPSTREAM}, latency ${s.LATENCY_MS} ms\n`,
  );
  const credentials = newCredentials();
  const trees = {
    current: await thisTree(),
    baselines: await treesAt(s.BASELINE_REF),
  };
  const agent = new Agent({ connections: s.CONCURRENCY });
  let upstream: ServerProcess | undefined;
  let paths: Path[] = [];
  let mesh: MeshSupergraph | undefined;
  try {
    if (s.MESH) mesh = await prepareMesh();
    upstream = await startUpstream(credentials, {
      kind: s.UPSTREAM,
      latencyMs: s.LATENCY_MS,
      streamDelayMs: s.STREAM_DELAY_MS,
      streamDeltas: 20,
    });
    paths = await startPaths(s, credentials, upstream, trees, mesh);
    // Every path must make the upstream do the same work, or the ratios mean nothing.
    const answers = await Promise.all(paths.map((p) => askOnce(agent, p.target).then(JSON.parse)));
    const expected = answers[0].choices[0].message.content;
    for (const [i, a] of answers.entries()) {
      if (i === 0) continue;
      const content = paths[i]!.content ? paths[i]!.content(a) : a.data.chatCompletion.content;
      if (content !== expected)
        throw new Error(`${paths[i]!.label}: the answer differs from the direct one`);
    }
    const loadResults = await benchLoad(s, agent, paths, upstream);
    if (s.CPU_PROF !== "" && s.CPU_PROF !== "false") await profileRound(s, agent, paths, upstream);
    const firstEvent = await benchFirstEvent({
      agent,
      credentials,
      upstream,
      samples: s.SAMPLES,
      gateways: paths
        .filter((p) => p.key === "gateway" || isBaseline(p.key))
        .map((p) => ({ label: p.label, url: p.server!.url })),
    });
    const unexpected = (await upstream.stats()).extra.unexpected ?? 0;
    if (unexpected > 0)
      console.log(`\nthe stub upstream answered ${unexpected} unexpected requests with 404`);
    console.log(`\nload average after: ${loadAverage()}`);
    return { settings: s, load: loadResults, firstEvent };
  } finally {
    await agent.close();
    await stopAll([...paths.map((p) => p.server), upstream]);
    await Promise.all(trees.baselines.map((tree) => tree.cleanup()));
    await mesh?.cleanup();
  }
}

await runIfMain(import.meta.url, main);
