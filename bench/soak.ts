/**
 * Soak: the gateway (production settings) in front of the local AI Search, each in its own
 * process (bench/gateway-servers.ts), under mixed traffic for a set time: queries, searches and
 * mutations from a closed loop of workers, plus many concurrent subscription streams over SSE
 * and graphql-ws, some cancelled mid-stream. Prints throughput and latency per operation, the
 * gateway's memory at the start and end, and what is left open once the load stops: sockets to
 * the upstream, live subscriptions and libuv resources in the gateway. Not part of the test
 * suite; bounded in time.
 *
 * Settings: env SOAK_<NAME> or flags --<name>=value (e.g. --duration-s=30); see SETTINGS.
 * Run: npx tsx bench/soak.ts [--duration-s=60]
 */

import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createParser } from "eventsource-parser";
import { print } from "graphql";
import { type Client, createClient } from "graphql-ws";
import { Agent } from "undici";
import WebSocket from "ws";
import { z } from "zod";
import {
  AskDocument,
  AskStreamDocument,
  InstanceDocument,
  NamespacesDocument,
  SearchDocument,
} from "../operations/generated/graphql.ts";
import { flagsToEnvironment } from "../src/config.ts";
import { startBenchServers } from "./gateway-servers.ts";
import { fixed } from "./measure.ts";
import { fail, inMiB, printReport, type StreamTally, streamTally, tally } from "./soak-report.ts";

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const SETTINGS = z
  .object({
    DURATION_S: count(5, 3_600).default(60), // how long new work is started
    WORKERS: count(1, 1_024).default(16), // request/response operations in flight
    STREAMS: count(2, 2_000).default(48), // subscriptions in flight, half SSE, half graphql-ws
    CANCEL_PERCENT: count(0, 100).default(25), // streams the client abandons mid-way
    LATENCY_MS: count(0, 10_000).default(5), // injected before every upstream answer
    STREAM_DELAY_MS: count(0, 1_000).default(10), // between upstream deltas
    SETTLE_MS: count(0, 60_000).default(6_000), // after the load: longer than keep-alive (4 s)
  })
  .strict();
type Settings = z.infer<typeof SETTINGS>;

function settingsFrom(env: NodeJS.ProcessEnv, argv: readonly string[]): Settings {
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith("SOAK_") && value) raw[key.slice(5)] = value;
  }
  Object.assign(raw, flagsToEnvironment(argv));
  return SETTINGS.parse(raw);
}

const INSTANCES = ["gateway-docs", "ai-search-concepts"];
const QUESTIONS = [
  "How does the gateway stream answers?",
  "How are chunks ranked and fused?",
  "What happens when a subscriber goes away?",
  "How are namespaces and instances organised?",
];
const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!;
const input = () => ({
  instanceIds: INSTANCES,
  messages: [{ role: "USER", content: pick(QUESTIONS) }],
});

/** The request/response mix, by weight. */
const OPERATIONS: { name: string; weight: number; body: () => object }[] = [
  {
    name: "mutation Ask",
    weight: 4,
    body: () => ({ query: print(AskDocument), variables: { input: input() } }),
  },
  {
    name: "query Search",
    weight: 3,
    body: () => ({
      query: print(SearchDocument),
      variables: { input: { instanceIds: INSTANCES, query: pick(QUESTIONS) } },
    }),
  },
  {
    name: "query Namespaces",
    weight: 2,
    body: () => ({ query: print(NamespacesDocument), variables: { first: 5, instancesFirst: 5 } }),
  },
  {
    name: "query Instance",
    weight: 1,
    body: () => ({
      query: print(InstanceDocument),
      variables: { namespace: "default", id: pick(INSTANCES) },
    }),
  },
];
const TOTAL_WEIGHT = OPERATIONS.reduce((n, op) => n + op.weight, 0);
function pickOperation() {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const op of OPERATIONS) {
    roll -= op.weight;
    if (roll < 0) return op;
  }
  return OPERATIONS[0]!;
}

type StreamOutcome = { kind: "completed" | "cancelled" } | { kind: "failed"; why: string };
/** The typename of a subscription result, or why it is not a usable event. */
function eventOf(result: unknown): { typename?: string; code?: string; error?: string } {
  const r = result as {
    data?: { chatCompletionStream?: { __typename?: string; code?: string } };
    errors?: { extensions?: { code?: string } }[];
  };
  if (r.errors?.length) return { error: r.errors[0]?.extensions?.code ?? "GRAPHQL_ERROR" };
  const event = r.data?.chatCompletionStream;
  return { typename: event?.__typename, code: event?.code };
}

async function main(): Promise<void> {
  const s = settingsFrom(process.env, process.argv.slice(2));
  const apiKey = `soak-key-${process.pid}-0123456789abcdef`;
  const auth = { "x-api-key": apiKey };
  const servers = await startBenchServers({
    token: `soak-${process.pid}`,
    apiKey,
    latencyMs: s.LATENCY_MS,
    streamDelayMs: s.STREAM_DELAY_MS,
    // One API key drives the whole soak: production's per-client caps would refuse most streams.
    gatewayEnv: {
      MAX_SUBSCRIPTIONS_PER_CLIENT: String(s.STREAMS * 2),
      MAX_SUBSCRIPTIONS_PER_CONNECTION: String(s.STREAMS * 2),
      MAX_CONNECTIONS_PER_CLIENT: String(s.STREAMS * 2),
    },
  });
  const url = new URL(servers.graphqlUrl);
  const agent = new Agent({ connections: s.WORKERS + s.STREAMS, keepAliveTimeout: 10_000 });
  const wsClients: Client[] = [];
  class AuthWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: auth });
    }
  }
  const newWsClient = () => {
    const client = createClient({
      url: servers.graphqlUrl.replace(/^http/, "ws"),
      webSocketImpl: AuthWebSocket,
      retryAttempts: 0,
      lazy: false,
    });
    wsClients.push(client);
    return client;
  };

  const post = (body: object, accept = "application/json") =>
    agent.request({
      origin: url.origin,
      path: url.pathname,
      method: "POST",
      headers: { "content-type": "application/json", accept, ...auth },
      body: JSON.stringify(body),
    });

  const requests = new Map(OPERATIONS.map((op) => [op.name, tally()]));
  const streams = { sse: streamTally(), ws: streamTally() };
  const cancelAfter = () =>
    Math.random() * 100 < s.CANCEL_PERCENT ? 1 + Math.floor(Math.random() * 5) : undefined;

  const oneRequest = async () => {
    const op = pickOperation();
    const t = requests.get(op.name)!;
    const t0 = performance.now();
    try {
      const res = await post(op.body());
      const text = await res.body.text();
      const parsed = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
      if (res.statusCode !== 200) fail(t, `HTTP ${res.statusCode}`);
      else if (parsed.errors?.length)
        fail(t, parsed.errors[0]?.extensions?.code ?? "GRAPHQL_ERROR");
      else t.latencies.push(performance.now() - t0);
    } catch (error) {
      fail(t, (error as Error).name);
    }
  };

  const oneSse = async (t: StreamTally): Promise<StreamOutcome> => {
    const stopAfter = cancelAfter();
    const t0 = performance.now();
    const res = await post(
      { query: print(AskStreamDocument), variables: { input: input() } },
      "text/event-stream",
    );
    if (res.statusCode !== 200) {
      await res.body.text();
      return { kind: "failed", why: `HTTP ${res.statusCode}` };
    }
    let events = 0;
    let outcome: StreamOutcome | undefined;
    const parser = createParser({
      onEvent(message) {
        if (message.event !== "next" || outcome) return;
        const event = eventOf(JSON.parse(message.data));
        if (event.error) outcome = { kind: "failed", why: event.error };
        else if (event.typename === "ChatCompletionFailedEvent")
          outcome = { kind: "failed", why: event.code ?? "FAILED" };
        if (events++ === 0) t.firstEvent.push(performance.now() - t0);
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
      if (stopAfter !== undefined && events >= stopAfter && !outcome) {
        // The browser tab closes: the request is torn down mid-stream.
        res.body.destroy();
        t.events += events;
        return { kind: "cancelled" };
      }
    }
    t.events += events;
    return outcome ?? { kind: "completed" };
  };

  const oneWs = async (client: Client, t: StreamTally): Promise<StreamOutcome> => {
    const stopAfter = cancelAfter();
    const t0 = performance.now();
    let events = 0;
    try {
      const iterator = client.iterate({
        query: print(AskStreamDocument),
        variables: { input: input() },
      });
      for await (const result of iterator) {
        if (events++ === 0) t.firstEvent.push(performance.now() - t0);
        const event = eventOf(result);
        if (event.error) return { kind: "failed", why: event.error };
        if (event.typename === "ChatCompletionFailedEvent")
          return { kind: "failed", why: event.code ?? "FAILED" };
        if (stopAfter !== undefined && events >= stopAfter) {
          // Leaving the loop sends `complete`: the client unsubscribes mid-stream.
          return { kind: "cancelled" };
        }
      }
      return { kind: "completed" };
    } catch (error) {
      return { kind: "failed", why: (error as Error).message.slice(0, 60) || "ERROR" };
    } finally {
      t.events += events;
    }
  };

  const record = (t: StreamTally, outcome: StreamOutcome) => {
    if (outcome.kind === "failed")
      t.failures.set(outcome.why, (t.failures.get(outcome.why) ?? 0) + 1);
    else t[outcome.kind]++;
  };

  // Warm-up: JIT, pools, the corpus; not counted.
  for (let i = 0; i < 20; i++) await oneRequest();
  for (const t of requests.values()) {
    t.latencies.length = 0;
    t.errors.clear();
  }

  const before = await servers.stats(true);
  const cpuBefore = await servers.cpu();
  console.log(
    `soak: ${s.DURATION_S} s, ${s.WORKERS} request workers, ${s.STREAMS} concurrent streams ` +
      `(${Math.ceil(s.STREAMS / 2)} SSE, ${Math.floor(s.STREAMS / 2)} graphql-ws, ${s.CANCEL_PERCENT}% cancelled mid-stream), ` +
      `upstream latency ${s.LATENCY_MS} ms, ${s.STREAM_DELAY_MS} ms between deltas`,
  );
  const started = performance.now();
  const deadline = started + s.DURATION_S * 1000;
  const running = () => performance.now() < deadline;
  // The gateway's memory every 10 s: a leak climbs steadily, a warming heap levels off.
  const progress = setInterval(async () => {
    const done = [...requests.values()].reduce((n, t) => n + t.latencies.length, 0);
    const streamed = streams.sse.started + streams.ws.started;
    const elapsed = (performance.now() - started) / 1000;
    const gateway = await servers.stats().then(
      (stats) => stats.gateway,
      () => undefined,
    );
    if (!gateway) return;
    console.log(
      `  ${fixed(elapsed, 0)} s: ${done} requests, ${streamed} streams started; gateway RSS ${inMiB(gateway.rssBytes)}, heap ${inMiB(gateway.heapUsedBytes)}`,
    );
  }, 10_000);

  const requestWorker = async () => {
    while (running()) await oneRequest();
  };
  const sseWorker = async () => {
    while (running()) {
      streams.sse.started++;
      record(
        streams.sse,
        await oneSse(streams.sse).catch((e: Error) => ({ kind: "failed", why: e.name }) as const),
      );
    }
  };
  const wsWorker = async () => {
    const client = newWsClient();
    while (running()) {
      streams.ws.started++;
      record(streams.ws, await oneWs(client, streams.ws));
    }
  };
  // A hard cap: a wedged stream must not keep the soak from reporting.
  const cap = new Promise<"capped">((resolve) =>
    setTimeout(() => resolve("capped"), s.DURATION_S * 1000 + 60_000).unref(),
  );
  const finished = await Promise.race([
    Promise.all([
      ...Array.from({ length: s.WORKERS }, requestWorker),
      ...Array.from({ length: Math.ceil(s.STREAMS / 2) }, sseWorker),
      ...Array.from({ length: Math.floor(s.STREAMS / 2) }, wsWorker),
    ]).then(() => "done" as const),
    cap,
  ]);
  clearInterval(progress);
  const elapsedS = (performance.now() - started) / 1000;
  const cpuAfter = await servers.cpu();

  // The load has stopped. Scrape the gateway's own view before the clients go away.
  const metrics = await (await fetch(`${url.origin}/metrics`)).text();
  const sample = (series: string) =>
    Number(
      metrics
        .split("\n")
        .find((l) => l.startsWith(`${series} `))
        ?.split(" ")[1] ?? Number.NaN,
    );
  const end = await servers.stats();
  for (const client of wsClients) await client.dispose();
  await agent.close();
  await new Promise((resolve) => setTimeout(resolve, s.SETTLE_MS));
  const settled = await servers.stats(true);
  const stopStarted = performance.now();
  await servers.close();
  const stopMs = performance.now() - stopStarted;

  printReport({
    elapsedS,
    capped: finished === "capped",
    settleMs: s.SETTLE_MS,
    requests,
    streams,
    cpuBefore,
    cpuAfter,
    before,
    end,
    settled,
    sample,
    stopMs,
  });
}

// Heap figures mean something only after a full collection, which needs --expose-gc; the
// server processes inherit the flag from this one.
if (typeof (globalThis as { gc?: unknown }).gc === "function") {
  await main();
} else {
  const args = [...process.execArgv, "--expose-gc", fileURLToPath(import.meta.url)];
  const child = spawnSync(process.execPath, [...args, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  process.exitCode = child.status ?? 1;
}
