/**
 * Resume at scale: STREAMS live streamed answers over graphql-ws, every socket dropped at once
 * (no close frame, no `complete`), then every stream resumed on new sockets after the last
 * sequence each had seen. Two modes, each with fresh processes:
 *
 * - `memory`: one gateway, no Redis; the streams are resumed on the gateway that runs them;
 * - `redis`: two gateways sharing a real `redis-server`; the streams run on A and are resumed
 *   on B, through Redis.
 *
 * Reported per mode: streams completed, and events lost or duplicated (every delta is checked
 * against the stub upstream's numbering, every sequence against its stream's); upstream
 * completions (must equal STREAMS: a resume never asks again); time from the drop to each
 * stream's first resumed event, p50/p99, and to all of them done; the gateways' CPU over the
 * run and peak RSS; and, for `redis`, Redis memory per stream while the streams are live and
 * once they are finished (kept for STREAM_RESUME_TTL_MS), from `INFO memory`, plus
 * `MEMORY USAGE` of one finished stream's keys.
 *
 * Settings: env BENCH_<NAME> or flags --<name>=value (see SETTINGS).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { z } from "zod";
import { fixed, loadAverage, mib, percentiles, table } from "./measure.ts";
import { freePort, type ServerProcess, stopAll } from "./processes.ts";
import { count, readSettings, runIfMain } from "./settings.ts";
import { newCredentials, startGateway, startUpstream } from "./targets.ts";
import { thisTree } from "./trees.ts";
import { deltaIndex, INPUT } from "./workload.ts";

const SETTINGS = z.object({
  STREAMS: count(1, 20_000).default(1000),
  MODES: z
    .string()
    .regex(/^(memory|redis)(,(memory|redis))*$/, "a comma-separated list of memory, redis")
    .default("memory,redis"),
  DELTAS: count(2, 10_000).default(40), // per stream
  DELTA_MS: count(0, 60_000).default(250), // between deltas
  DROP_AFTER: count(1, 10_000).default(8), // deltas every stream has before the drop
  PER_SOCKET: count(1, 10_000).default(100), // subscriptions per socket
  RAMP_MS: count(0, 600_000).default(3_000), // all streams are opened within this
  LATENCY_MS: count(0, 10_000).default(20), // upstream, before the first event
  TIMEOUT_MS: count(1_000, 600_000).default(120_000), // for each phase; nothing hangs
  REDIS_SERVER: z.string().min(1).default("redis-server"),
});
type Settings = z.infer<typeof SETTINGS>;

const STREAM = `subscription Stream($input: ChatCompletionInput!) { chatCompletionStream(input: $input) {
  __typename ... on ChatCompletionChunksEvent { streamId sequence }
  ... on ChatCompletionDeltaEvent { streamId sequence content }
  ... on ChatCompletionDoneEvent { streamId sequence } ... on ChatCompletionFailedEvent { streamId sequence code } } }`;
const RESUME = `subscription Resume($streamId: ID!, $afterSequence: Int!) {
  resumeChatCompletionStream(streamId: $streamId, afterSequence: $afterSequence) {
  __typename ... on ChatCompletionChunksEvent { streamId sequence }
  ... on ChatCompletionDeltaEvent { streamId sequence content }
  ... on ChatCompletionDoneEvent { streamId sequence } ... on ChatCompletionFailedEvent { streamId sequence code } } }`;

interface Event {
  __typename: string;
  streamId: string;
  sequence: number;
  content?: string;
  code?: string;
}

/** One stream as the client sees it, across its two subscriptions. */
class Tracked {
  streamId: string | undefined;
  last = -1;
  deltas = new Map<number, number>();
  sequences = new Map<number, number>();
  done = false;
  failed: string | undefined;
  firstResumedAt: number | undefined;
  errors: string[] = [];

  take(event: Event, resumed: boolean) {
    this.streamId ??= event.streamId;
    this.sequences.set(event.sequence, (this.sequences.get(event.sequence) ?? 0) + 1);
    this.last = Math.max(this.last, event.sequence);
    if (resumed) this.firstResumedAt ??= performance.now();
    if (event.__typename === "ChatCompletionDeltaEvent") {
      const index = deltaIndex(event.content ?? "");
      this.deltas.set(index, (this.deltas.get(index) ?? 0) + 1);
    } else if (event.__typename === "ChatCompletionDoneEvent") this.done = true;
    else if (event.__typename === "ChatCompletionFailedEvent") this.failed = event.code;
  }

  get finished() {
    return this.done || this.failed !== undefined || this.errors.length > 0;
  }
}

/** Sockets of graphql-ws by hand, so they can be dropped without a close frame. */
async function openSocket(url: string, apiKey: string, streams: Map<string, Tracked>) {
  const socket = new WebSocket(url.replace(/^http/, "ws"), "graphql-transport-ws");
  await new Promise<void>((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  socket.send(JSON.stringify({ type: "connection_init", payload: { apiKey } }));
  await new Promise<void>((resolve, reject) => {
    socket.once("message", (data) => {
      if (JSON.parse(String(data)).type === "connection_ack") resolve();
      else reject(new Error(`no connection_ack: ${String(data)}`));
    });
  });
  socket.on("error", () => {});
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id: string; type: string; payload?: unknown };
    const tracked = streams.get(message.id);
    if (!tracked) return;
    if (message.type === "next") {
      const payload = message.payload as { data?: Record<string, Event>; errors?: unknown[] };
      const event = payload.data?.chatCompletionStream ?? payload.data?.resumeChatCompletionStream;
      if (event) tracked.take(event, message.id.startsWith("r"));
      else tracked.errors.push(JSON.stringify(payload.errors));
    } else if (message.type === "error") tracked.errors.push(JSON.stringify(message.payload));
  });
  return socket;
}

async function until(what: string, check: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface RedisProcess {
  url: string;
  client: Redis;
  stop(): Promise<void>;
}

async function startRedis(s: Settings): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-redis-"));
  const child: ChildProcess = spawn(
    s.REDIS_SERVER,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    { stdio: "ignore" },
  );
  const client = new Redis({ port, host: "127.0.0.1", retryStrategy: () => 50 });
  client.on("error", () => {});
  await until("redis-server", () => client.status === "ready", 10_000);
  return {
    url: `redis://127.0.0.1:${port}`,
    client,
    async stop() {
      client.disconnect();
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const usedMemory = async (client: Redis) =>
  Number(/used_memory:(\d+)/.exec(await client.info("memory"))?.[1] ?? Number.NaN);

async function runMode(mode: "memory" | "redis", s: Settings) {
  const credentials = newCredentials();
  const tree = await thisTree();
  const servers: ServerProcess[] = [];
  let redis: RedisProcess | undefined;
  try {
    const upstream = await startUpstream(credentials, {
      kind: "stub",
      latencyMs: s.LATENCY_MS,
      streamDelayMs: s.DELTA_MS,
      streamDeltas: s.DELTAS,
    });
    servers.push(upstream);
    redis = mode === "redis" ? await startRedis(s) : undefined;
    const env = {
      MAX_SUBSCRIPTIONS_PER_CONNECTION: String(s.PER_SOCKET),
      MAX_SUBSCRIPTIONS_PER_CLIENT: String(s.STREAMS * 2),
      MAX_CONNECTIONS_PER_CLIENT: String(Math.ceil(s.STREAMS / s.PER_SOCKET) * 4),
      LOG_LEVEL: "warn",
      ...(redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: "bench:" } : {}),
    };
    const start = (name: string) =>
      startGateway({ name, tree, credentials, upstream, env }).then((gateway) => {
        servers.push(gateway);
        return gateway;
      });
    // Settled, not all: when one fails to start, the other is still starting, and must be in
    // `servers` before the finally below stops them, or it outlives the bench.
    const started = await Promise.allSettled([
      start("gateway A"),
      mode === "redis" ? start("gateway B") : undefined,
    ]);
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    const [a, b] = started.map((result) =>
      result.status === "fulfilled" ? result.value : undefined,
    );
    const resumeOn = b ?? a!;
    const baseline = redis ? await usedMemory(redis.client) : Number.NaN;
    const upstreamBefore = ((await upstream.stats()).extra?.streams as number | undefined) ?? 0;
    const cpuBefore = await Promise.all(servers.slice(1).map((g) => g.stats({ resetLag: true })));

    // Open the streams over the ramp, PER_SOCKET per socket.
    const tracked = new Map<string, Tracked>();
    const byStream: Tracked[] = [];
    const sockets: WebSocket[] = [];
    const socketCount = Math.ceil(s.STREAMS / s.PER_SOCKET);
    for (let i = 0; i < socketCount; i++)
      sockets.push(await openSocket(a!.url, credentials.apiKey, tracked));
    const opened = performance.now();
    for (let i = 0; i < s.STREAMS; i++) {
      const stream = new Tracked();
      byStream.push(stream);
      tracked.set(`s${i}`, stream);
      sockets[i % socketCount]!.send(
        JSON.stringify({
          id: `s${i}`,
          type: "subscribe",
          payload: { query: STREAM, variables: { input: INPUT } },
        }),
      );
      const due = opened + (s.RAMP_MS * (i + 1)) / s.STREAMS;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await until(
      `${s.DROP_AFTER} deltas on every stream`,
      () => byStream.every((t) => t.deltas.size >= s.DROP_AFTER || t.finished),
      s.TIMEOUT_MS,
    );
    const liveMemory = redis ? (await usedMemory(redis.client)) - baseline : Number.NaN;

    // Every socket at once: no close frame, no `complete`.
    const droppedAt = performance.now();
    for (const socket of sockets) socket.terminate();
    const resumed: WebSocket[] = [];
    for (let i = 0; i < socketCount; i++) {
      resumed.push(await openSocket(resumeOn.url, credentials.apiKey, tracked));
    }
    for (let i = 0; i < s.STREAMS; i++) {
      const stream = byStream[i]!;
      if (stream.finished) continue;
      tracked.set(`r${i}`, stream);
      resumed[i % socketCount]!.send(
        JSON.stringify({
          id: `r${i}`,
          type: "subscribe",
          payload: {
            query: RESUME,
            variables: { streamId: stream.streamId, afterSequence: stream.last },
          },
        }),
      );
    }
    await until("every stream to finish", () => byStream.every((t) => t.finished), s.TIMEOUT_MS);
    const allDoneMs = performance.now() - droppedAt;
    const finishedMemory = redis ? (await usedMemory(redis.client)) - baseline : Number.NaN;
    let sampleBytes = Number.NaN;
    if (redis && byStream[0]?.streamId) {
      const id = byStream[0].streamId;
      const sizes = await Promise.all([
        redis.client.memory("USAGE", `bench:stream:${id}`),
        redis.client.memory("USAGE", `bench:stream:${id}:meta`),
      ]);
      sampleBytes = sizes.reduce<number>((sum, size) => sum + Number(size ?? 0), 0);
    }
    for (const socket of resumed) socket.close();

    const upstreamAfter = ((await upstream.stats()).extra?.streams as number | undefined) ?? 0;
    const cpuAfter = await Promise.all(servers.slice(1).map((g) => g.stats()));
    let lost = 0;
    let duplicated = 0;
    for (const t of byStream) {
      for (let index = 0; index < s.DELTAS; index++) {
        const seen = t.deltas.get(index) ?? 0;
        if (seen === 0) lost++;
        duplicated += Math.max(0, seen - 1);
      }
      for (let sequence = 0; sequence <= t.last; sequence++) {
        duplicated += Math.max(0, (t.sequences.get(sequence) ?? 0) - 1);
      }
    }
    const resumeTimes = byStream.flatMap((t) =>
      t.firstResumedAt === undefined ? [] : [t.firstResumedAt - droppedAt],
    );
    const { p50, p99 } = percentiles(resumeTimes);
    const cpuMs = cpuAfter.reduce((sum, after, i) => sum + after.cpuMs - cpuBefore[i]!.cpuMs, 0);
    return {
      mode,
      completed: byStream.filter((t) => t.done).length,
      failed: byStream.filter((t) => !t.done).length,
      failures: [...new Set(byStream.flatMap((t) => (t.failed ? [t.failed] : t.errors)))].slice(
        0,
        3,
      ),
      lost,
      duplicated,
      completions: upstreamAfter - upstreamBefore,
      resumeP50: p50,
      resumeP99: p99,
      allDoneMs,
      cpuMs,
      peakRss: Math.max(...cpuAfter.map((stats) => stats.peakRssBytes)),
      liveBytesPerStream: liveMemory / s.STREAMS,
      finishedBytesPerStream: finishedMemory / s.STREAMS,
      sampleBytes,
    };
  } finally {
    await stopAll(servers);
    await redis?.stop();
  }
}

async function main(argv: string[]) {
  const s = readSettings(SETTINGS, argv);
  console.log(`resume bench: node ${process.version}, ${os.cpus().length} cores`);
  console.log(
    `load average before: ${loadAverage()}; ${s.STREAMS} streams of ${s.DELTAS} deltas every ${s.DELTA_MS} ms, dropped after ${s.DROP_AFTER}`,
  );
  const rows = [
    [
      "mode",
      "done",
      "failed",
      "lost",
      "dup",
      "completions",
      "resume p50 ms",
      "p99 ms",
      "all done ms",
      "gateway CPU ms",
      "peak RSS MiB",
      "Redis B/stream live",
      "finished",
      "one stream's keys B",
    ],
  ];
  for (const mode of s.MODES.split(",") as ("memory" | "redis")[]) {
    console.log(`… ${mode} (load average ${loadAverage()})`);
    const r = await runMode(mode, s);
    if (r.failures.length > 0) console.log(`  failures: ${r.failures.join("; ")}`);
    const bytes = (v: number) => (Number.isNaN(v) ? "—" : fixed(v, 0));
    rows.push([
      r.mode,
      String(r.completed),
      String(r.failed),
      String(r.lost),
      String(r.duplicated),
      String(r.completions),
      fixed(r.resumeP50),
      fixed(r.resumeP99),
      fixed(r.allDoneMs, 0),
      fixed(r.cpuMs, 0),
      mib(r.peakRss),
      bytes(r.liveBytesPerStream),
      bytes(r.finishedBytesPerStream),
      bytes(r.sampleBytes),
    ]);
  }
  console.log(table(rows));
  console.log(`load average after: ${loadAverage()}`);
}

await runIfMain(import.meta.url, main);
