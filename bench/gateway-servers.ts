/**
 * The processes under test for bench/gateway.ts: the local AI Search and a gateway pointed at
 * it, each forked from this file. Separate processes, as in production: the gateway shares an
 * event loop neither with its upstream nor with its clients, so the load generator's and the
 * upstream's CPU time are not charged to the gateway. Each child reports its own CPU time,
 * which is steadier than wall-clock figures on a shared machine.
 */

import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const ROLE_FLAG = "--bench-role=";
export const BENCH_ACCOUNT = "bench";

export interface ServerSettings {
  /** Between the gateway and the local AI Search. */
  token: string;
  /** What the bench presents to the gateway, which runs with production's client auth. */
  apiKey: string;
  latencyMs: number;
  streamDelayMs: number;
  /** More gateway settings (environment names), e.g. higher subscription caps for a soak. */
  gatewayEnv?: Record<string, string>;
}

/** What a server process holds right now, for leak checks. */
export interface ProcessStats {
  rssBytes: number;
  heapUsedBytes: number;
  /** Live libuv resources (sockets, servers, timers…), by type, from getActiveResourcesInfo. */
  resources: Record<string, number>;
  /** The local AI Search only: sockets open to it. */
  openConnections?: number;
}

/** `stats-after-gc` collects garbage first when the process runs with `--expose-gc`. */
type Request = "cpu" | "stop" | "stats" | "stats-after-gc";
type Reply = { url: string } | { cpuMs: number } | ProcessStats;

/** Runs in a child: starts one server, then answers "cpu" and closes on "stop" or orphaning. */
async function serve(role: string): Promise<void> {
  const env = process.env;
  let url: string;
  let close: () => Promise<void>;
  let openConnections: (() => number) | undefined;
  // Imported here, not at the top, so the load generator (the parent) never loads them.
  if (role === "upstream") {
    const { startLocalAiSearch } = await import("../src/local/server.ts");
    const local = await startLocalAiSearch({
      apiToken: env.BENCH_TOKEN,
      streamDelayMs: Number(env.BENCH_STREAM_DELAY_MS),
      faults: { latencyMs: Number(env.BENCH_LATENCY_MS) },
    });
    // The request log serves tests; under load it would grow without bound.
    const trim = setInterval(() => local.resetRequests(), 1_000);
    url = local.baseUrl;
    openConnections = () => local.openConnections();
    close = async () => {
      clearInterval(trim);
      await local.close();
    };
  } else {
    const [{ loadConfig }, { buildApp }] = await Promise.all([
      import("../src/config.ts"),
      import("../src/server/app.ts"),
    ]);
    const app = buildApp(
      loadConfig({
        NODE_ENV: "production",
        PORT: "0",
        LOG_LEVEL: "silent",
        CLOUDFLARE_API_BASE_URL: env.BENCH_UPSTREAM_URL,
        CLOUDFLARE_ACCOUNT_ID: BENCH_ACCOUNT,
        CLOUDFLARE_API_TOKEN: env.BENCH_TOKEN,
        AUTH_API_KEYS: env.BENCH_API_KEY,
        // The bench is one client sending thousands of requests a minute: with production's
        // per-client limit it would measure 429s. The limiter still runs, so its cost counts.
        RATE_LIMIT_PER_MINUTE: "1000000000",
        ...(JSON.parse(env.BENCH_GATEWAY_ENV ?? "{}") as Record<string, string>),
      }),
    );
    url = (await app.start()).graphqlUrl;
    close = () => app.stop();
  }
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await close();
    if (process.connected) process.disconnect();
  };
  process.on("message", (request: Request) => {
    if (request === "cpu") {
      const { user, system } = process.cpuUsage();
      process.send!({ cpuMs: (user + system) / 1000 } satisfies Reply);
    } else if (request === "stats" || request === "stats-after-gc") {
      if (request === "stats-after-gc") (globalThis as { gc?: () => void }).gc?.();
      const resources: Record<string, number> = {};
      for (const type of process.getActiveResourcesInfo())
        resources[type] = (resources[type] ?? 0) + 1;
      process.send!({
        rssBytes: process.memoryUsage().rss,
        heapUsedBytes: process.memoryUsage().heapUsed,
        resources,
        openConnections: openConnections?.(),
      } satisfies Reply);
    } else void shutdown();
  });
  // The parent died without saying stop: close anyway, so no server outlives the bench.
  process.on("disconnect", () => void shutdown());
  process.send!({ url } satisfies Reply);
}

/** One request/reply over IPC; bounded, so a wedged child fails the bench instead of hanging it. */
function ask(child: ChildProcess, request: Request | undefined, role: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      settle();
      reject(new Error(`bench ${role} ${why}`));
    };
    const onExit = (code: number | null) => fail(`exited (${code})`);
    const onMessage = (reply: Reply) => {
      settle();
      resolve(reply);
    };
    const timer = setTimeout(() => fail("did not answer within 30 s"), 30_000);
    const settle = () => {
      clearTimeout(timer);
      child.off("exit", onExit);
      child.off("message", onMessage);
    };
    child.on("exit", onExit);
    child.on("message", onMessage);
    if (request) child.send(request);
  });
}

async function spawn(role: string, env: Record<string, string>) {
  const child = fork(fileURLToPath(import.meta.url), [`${ROLE_FLAG}${role}`], {
    // Libraries read NODE_ENV from the environment, not from the gateway's config: graphql-js,
    // for one, runs costly development-only checks without it, which production would not pay.
    env: { ...process.env, NODE_ENV: "production", ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await ask(child, undefined, role).catch((error: unknown) => {
    child.kill();
    throw error;
  });
  const cpu = async () => ((await ask(child, "cpu", role)) as { cpuMs: number }).cpuMs;
  const stats = async (gc = false) =>
    (await ask(child, gc ? "stats-after-gc" : "stats", role)) as ProcessStats;
  return { child, url: (ready as { url: string }).url, cpu, stats };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  if (child.connected) child.send("stop" satisfies Request);
  // A child that hangs while closing must not hang the bench; it is ours to end.
  const timer = setTimeout(() => child.kill(), 5_000);
  await exited;
  clearTimeout(timer);
}

export interface BenchServers {
  /** API base of the local AI Search, e.g. `http://127.0.0.1:PORT/client/v4`. */
  upstreamUrl: string;
  graphqlUrl: string;
  /** CPU time (user + system) each process has used so far, in ms. */
  cpu(): Promise<{ upstream: number; gateway: number }>;
  /** With `gc`, each process collects garbage first (when started with `--expose-gc`). */
  stats(gc?: boolean): Promise<{ upstream: ProcessStats; gateway: ProcessStats }>;
  close(): Promise<void>;
}

export async function startBenchServers(settings: ServerSettings): Promise<BenchServers> {
  const shared = {
    BENCH_TOKEN: settings.token,
    BENCH_API_KEY: settings.apiKey,
    BENCH_LATENCY_MS: String(settings.latencyMs),
    BENCH_STREAM_DELAY_MS: String(settings.streamDelayMs),
  };
  const children: ChildProcess[] = [];
  const close = () => Promise.all(children.map(stop)).then(() => undefined);
  try {
    const upstream = await spawn("upstream", shared);
    children.push(upstream.child);
    const gateway = await spawn("gateway", {
      ...shared,
      BENCH_UPSTREAM_URL: upstream.url,
      BENCH_GATEWAY_ENV: JSON.stringify(settings.gatewayEnv ?? {}),
    });
    children.push(gateway.child);
    return {
      upstreamUrl: upstream.url,
      graphqlUrl: gateway.url,
      cpu: async () => ({ upstream: await upstream.cpu(), gateway: await gateway.cpu() }),
      stats: async (gc) => ({
        upstream: await upstream.stats(gc),
        gateway: await gateway.stats(gc),
      }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

const role = process.argv.find((arg) => arg.startsWith(ROLE_FLAG));
if (role) await serve(role.slice(ROLE_FLAG.length));
