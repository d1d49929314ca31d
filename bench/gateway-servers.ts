/**
 * The processes under test for bench/soak.ts: the real local AI Search and this tree's gateway
 * (through its production entry, production defaults, logs silenced), each in its own process
 * with bench/probe.ts (see bench/targets.ts), so the load generator's and the upstream's CPU
 * time are not charged to the gateway.
 */

import type { ProbeStats } from "./probe.ts";
import { type ServerProcess, stopAll } from "./processes.ts";
import { startGateway, startUpstream } from "./targets.ts";
import { thisTree } from "./trees.ts";

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

const toStats = ({ rssBytes, heapUsedBytes, resources, extra }: ProbeStats): ProcessStats => ({
  rssBytes,
  heapUsedBytes,
  resources,
  openConnections: extra.openConnections,
});

export async function startBenchServers(settings: ServerSettings): Promise<BenchServers> {
  const credentials = { token: settings.token, apiKey: settings.apiKey };
  const upstream = await startUpstream(credentials, {
    kind: "local",
    latencyMs: settings.latencyMs,
    streamDelayMs: settings.streamDelayMs,
    streamDeltas: 0,
  });
  let gateway: ServerProcess;
  try {
    gateway = await startGateway({
      name: "gateway",
      tree: await thisTree(),
      credentials,
      upstream,
      env: { LOG_LEVEL: "silent", ...settings.gatewayEnv },
    });
  } catch (error) {
    await upstream.stop();
    throw error;
  }
  const stats = async (server: ServerProcess, gc: boolean) => {
    if (gc) await server.collectGarbage();
    return toStats(await server.stats());
  };
  return {
    upstreamUrl: upstream.url,
    graphqlUrl: gateway.url,
    cpu: async () => ({
      upstream: (await upstream.stats()).cpuMs,
      gateway: (await gateway.stats()).cpuMs,
    }),
    stats: async (gc = false) => ({
      upstream: await stats(upstream, gc),
      gateway: await stats(gateway, gc),
    }),
    close: () => stopAll([gateway, upstream]),
  };
}
