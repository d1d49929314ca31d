/**
 * What the gateway costs on top of AI Search: the same chat completion asked through the
 * gateway and straight from the upstream (the embedded local AI Search with a fixed injected
 * latency), in one run, reported as ratios to that direct baseline, because ratios survive a
 * noisy shared machine better than absolute figures do.
 *
 * (a) `chatCompletion` under a closed-loop load of CONCURRENCY requests in flight, in rounds
 *     that alternate direct and gateway so a drift in machine load hits both;
 * (b) time to the first event of a streamed answer: upstream SSE vs the subscription over SSE
 *     and over graphql-ws, sequential samples interleaved path by path.
 *
 * Settings: env BENCH_<NAME> or flags --<name>=value (e.g. --latency-ms=50); see SETTINGS.
 */

import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createClient } from "graphql-ws";
import { Agent } from "undici";
import WebSocket from "ws";
import { z } from "zod";
import { flagsToEnvironment } from "../src/config.ts";
import { BENCH_ACCOUNT, type BenchServers, startBenchServers } from "./gateway-servers.ts";
import {
  askOnce,
  fixed,
  type LoadResult,
  load,
  percentiles,
  ratio,
  sseFirstEvent,
  type Target,
  table,
} from "./measure.ts";

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const SETTINGS = z
  .object({
    LATENCY_MS: count(0, 10_000).default(20), // injected before every upstream answer
    CONCURRENCY: count(1, 1_024).default(64), // requests in flight during the load test
    ROUNDS: count(1, 20).default(4), // per target; direct and gateway alternate
    DURATION_MS: count(100, 60_000).default(2_500), // per round
    WARMUP_MS: count(0, 60_000).default(1_000), // JIT, connection pools, corpus caches
    SAMPLES: count(1, 1_000).default(100), // sequential first-event samples per path
    STREAM_DELAY_MS: count(0, 1_000).default(0), // between upstream deltas; after the first event
  })
  .strict();
type Settings = z.infer<typeof SETTINGS>;

const INPUT = {
  instanceIds: ["gateway-docs", "ai-search-concepts"],
  messages: [{ role: "USER", content: "How are chunks ranked and fused?" }],
};
/** The upstream body the gateway builds from INPUT (see toChatCompletionRequest). */
const DIRECT_BODY = {
  messages: [{ role: "user", content: INPUT.messages[0]!.content }],
  ai_search_options: { instance_ids: INPUT.instanceIds },
};
// What a client typically renders: the answer and its sources. Not `Chunk.instance`, whose
// DataLoader would add upstream calls that the direct path does not make.
const ASK = `mutation Ask($input: ChatCompletionInput!) { chatCompletion(input: $input) {
  id model content chunks { id instanceId score text item { key } } errors { instanceId message } } }`;
const STREAM = `subscription Stream($input: ChatCompletionInput!) { chatCompletionStream(input: $input) {
  __typename ... on ChatCompletionChunksEvent { chunks { id instanceId score } }
  ... on ChatCompletionDeltaEvent { sequence content }
  ... on ChatCompletionDoneEvent { completion { content } } ... on ChatCompletionFailedEvent { code } } }`;

interface Bench {
  s: Settings;
  /** The gateway's client credentials, as HTTP headers. */
  auth: Record<string, string>;
  agent: Agent;
  servers: BenchServers;
  direct: Target;
  gateway: Target;
}

/** CPU time of each server process per round: steadier than wall time on a shared machine. */
type Round = LoadResult & { cpu: { upstream: number; gateway: number } };

async function round({ agent, servers }: Bench, t: Target, ms: number, concurrency: number) {
  const before = await servers.cpu();
  const result = await load(agent, t, ms, concurrency);
  const after = await servers.cpu();
  const cpu = {
    upstream: after.upstream - before.upstream,
    gateway: after.gateway - before.gateway,
  };
  return { ...result, cpu } satisfies Round;
}

function summarise(rounds: Round[]) {
  const sum = (f: (r: Round) => number) => rounds.reduce((n, r) => n + f(r), 0);
  const done = sum((r) => r.latencies.length);
  const perRound = rounds.map((r) => r.latencies.length / (r.elapsedMs / 1000));
  return {
    rps: done / (sum((r) => r.elapsedMs) / 1000),
    range: `${fixed(Math.min(...perRound), 0)}–${fixed(Math.max(...perRound), 0)}`,
    errors: sum((r) => r.errors),
    upstreamCpuMs: sum((r) => r.cpu.upstream) / done,
    gatewayCpuMs: sum((r) => r.cpu.gateway) / done,
    ...percentiles(rounds.flatMap((r) => r.latencies)),
  };
}

const loadAverage = () =>
  os
    .loadavg()
    .map((l) => fixed(l, 2))
    .join(" ");

/** (a) chatCompletion under load, rounds alternating which target goes first. */
async function benchLoad(b: Bench) {
  const { s, direct, gateway } = b;
  for (const t of [direct, gateway]) await load(b.agent, t, s.WARMUP_MS, s.CONCURRENCY);
  const rounds = new Map<Target, Round[]>([
    [direct, []],
    [gateway, []],
  ]);
  for (let r = 0; r < s.ROUNDS; r++) {
    for (const t of r % 2 ? [gateway, direct] : [direct, gateway]) {
      rounds.get(t)!.push(await round(b, t, s.DURATION_MS, s.CONCURRENCY));
    }
  }
  const d = summarise(rounds.get(direct)!);
  const g = summarise(rounds.get(gateway)!);
  const row = (name: string, x: typeof d) =>
    [name, fixed(x.rps, 0), x.range, fixed(x.p50), fixed(x.p99), String(x.errors)].concat(
      [x.upstreamCpuMs, x.gatewayCpuMs].map((v) => fixed(v, 2)),
    );
  const header = ["path", "req/s", "per round", "p50 ms", "p99 ms", "errors"];
  const ratios = [ratio(g.rps / d.rps), "", ratio(g.p50 / d.p50), ratio(g.p99 / d.p99), ""];
  console.log(`(a) chatCompletion, ${s.CONCURRENCY} in flight, ${s.ROUNDS} × ${s.DURATION_MS} ms`);
  console.log(
    table([
      header.concat("upstream CPU ms/req", "gateway CPU ms/req"),
      row("direct upstream", d),
      row("gateway mutation", g),
      ["gateway / direct", ...ratios, ratio(g.upstreamCpuMs / d.upstreamCpuMs)],
    ]),
  );
  // The upstream ratio near 1× confirms both paths cost the upstream the same work.
  const share = g.gatewayCpuMs / g.upstreamCpuMs;
  console.log(
    `gateway CPU per request: ${fixed(g.gatewayCpuMs, 2)} ms, ${ratio(share)} the upstream's`,
  );
  return { direct: d, gateway: g };
}

const isChunks = (r: unknown) =>
  (r as { data?: { chatCompletionStream?: { __typename?: string } } }).data?.chatCompletionStream
    ?.__typename === "ChatCompletionChunksEvent";

/** (b) time to first event: sequential, the three paths interleaved sample by sample. */
async function benchFirstEvent({ s, auth, agent, servers, direct, gateway }: Bench) {
  // Credentials both on the upgrade request and in connection_init: either is a common place
  // for a gateway to look.
  class AuthWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: auth });
    }
  }
  const ws = createClient({
    url: servers.graphqlUrl.replace(/^http/, "ws"),
    webSocketImpl: AuthWebSocket,
    connectionParams: auth,
    retryAttempts: 0,
  });
  const viaWs = async () => {
    const t0 = performance.now();
    let first: number | undefined;
    for await (const result of ws.iterate({ query: STREAM, variables: { input: INPUT } })) {
      first ??= isChunks(result) ? performance.now() - t0 : Number.NaN;
    }
    if (!Number.isFinite(first)) throw new Error("graphql-ws: the first event was not chunks");
    return first!;
  };
  const sseDirect = { ...direct, body: JSON.stringify({ ...DIRECT_BODY, stream: true }) };
  const sseGateway = {
    ...gateway,
    body: JSON.stringify({ query: STREAM, variables: { input: INPUT } }),
  };
  const paths: [string, () => Promise<number>][] = [
    ["direct upstream SSE", () => sseFirstEvent(agent, sseDirect, (e) => e.event === "chunks")],
    [
      "gateway over SSE",
      () =>
        sseFirstEvent(agent, sseGateway, (e) => e.event === "next" && isChunks(JSON.parse(e.data))),
    ],
    ["gateway over graphql-ws", viaWs],
  ];
  const warmups = 5;
  const samples = paths.map(() => [] as number[]);
  try {
    for (let i = 0; i < warmups + s.SAMPLES; i++) {
      for (const [j, [, sample]] of paths.entries()) {
        const first = await sample();
        if (i >= warmups) samples[j]!.push(first);
      }
    }
  } finally {
    await ws.dispose();
  }
  const ttfe = samples.map(percentiles);
  const base = ttfe[0]!;
  console.log(
    `\n(b) time to first event (the retrieved chunks), ${s.SAMPLES} sequential samples each`,
  );
  const row = ([name]: [string, unknown], j: number) => {
    const x = ttfe[j]!;
    return [name, fixed(x.p50), fixed(x.p99), ratio(x.p50 / base.p50), ratio(x.p99 / base.p99)];
  };
  console.log(
    table([["path", "p50 ms", "p99 ms", "p50 / direct", "p99 / direct"], ...paths.map(row)]),
  );
  return Object.fromEntries(paths.map(([name], j) => [name, ttfe[j]!]));
}

export async function main(argv: readonly string[] = []) {
  // Only our own BENCH_* names from the environment: others may belong to another bench.
  // Flags, given to this bench alone, must all be known.
  const fromEnv = Object.keys(SETTINGS.shape).flatMap((k) => {
    const value = process.env[`BENCH_${k}`];
    return value === undefined ? [] : [[k, value]];
  });
  const s: Settings = SETTINGS.parse({
    ...Object.fromEntries(fromEnv),
    ...flagsToEnvironment(argv),
  });
  const cpus = os.cpus();
  console.log(`gateway bench: node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? "?"}`);
  console.log(`load average before: ${loadAverage()}; upstream latency ${s.LATENCY_MS} ms\n`);

  const token = `bench-${process.pid}-${Date.now()}`;
  const apiKey = `bench-key-${process.pid}-${Date.now()}`;
  const servers = await startBenchServers({
    token,
    apiKey,
    latencyMs: s.LATENCY_MS,
    streamDelayMs: s.STREAM_DELAY_MS,
  });
  const agent = new Agent({ connections: s.CONCURRENCY });
  try {
    const json = { "content-type": "application/json", accept: "application/json" };
    // An assumption until the gateway's client auth lands: API keys as bearer tokens.
    const auth = { authorization: `Bearer ${apiKey}` };
    const chat = `/accounts/${BENCH_ACCOUNT}/ai-search/namespaces/default/chat/completions`;
    const bench: Bench = {
      s,
      auth,
      agent,
      servers,
      direct: {
        name: "direct",
        url: new URL(`${servers.upstreamUrl}${chat}`),
        headers: { ...json, authorization: `Bearer ${token}` },
        body: JSON.stringify(DIRECT_BODY),
        ok: (text) => Array.isArray(JSON.parse(text).choices),
      },
      gateway: {
        name: "gateway",
        url: new URL(servers.graphqlUrl),
        headers: { ...json, ...auth },
        body: JSON.stringify({ query: ASK, variables: { input: INPUT } }),
        ok: (text) => {
          const body = JSON.parse(text);
          return (
            body.errors === undefined && typeof body.data?.chatCompletion?.content === "string"
          );
        },
      },
    };
    // Both paths must make the upstream do the same work, or the ratios mean nothing.
    const fromDirect = JSON.parse(await askOnce(agent, bench.direct));
    const fromGateway = JSON.parse(await askOnce(agent, bench.gateway));
    if (fromDirect.choices[0].message.content !== fromGateway.data.chatCompletion.content) {
      throw new Error("the direct and the gateway answers differ");
    }

    const loadResults = await benchLoad(bench);
    const firstEvent = await benchFirstEvent(bench);
    console.log(`\nload average after: ${loadAverage()}`);
    return { settings: s, load: loadResults, firstEvent };
  } finally {
    await agent.close();
    await servers.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
