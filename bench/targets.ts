/**
 * The servers the benches start: the upstream (bench/stub-upstream.ts), the minimal Yoga
 * baseline (bench/minimal-yoga.ts) and gateways, each in its own process with the probe.
 * A gateway runs its tree's production entry with production's defaults; the bench overrides
 * only what it must (where the upstream is, the credentials, and a rate limit a single load
 * generator would otherwise hit), plus whatever a target adds (`LOG_LEVEL=warn`, caps…).
 */

import { fileURLToPath } from "node:url";
import { z } from "zod";
import { compiledBenchModule } from "./compiled.ts";
import {
  baseEnv,
  freePort,
  readyMessage,
  readyWhenServing,
  type ServerProcess,
  startEntry,
  startProcess,
} from "./processes.ts";
import { SettingsError } from "./settings.ts";
import type { Tree } from "./trees.ts";
import { BENCH_ACCOUNT } from "./workload.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Per run: what the gateway presents upstream, and what the bench presents to the gateway. */
export interface Credentials {
  token: string;
  apiKey: string;
}

export function newCredentials(): Credentials {
  const tag = `${process.pid}-${Date.now()}`;
  return { token: `bench-token-${tag}`, apiKey: `bench-key-${tag}` };
}

export interface UpstreamOptions {
  /** `stub` answers from memory (the default); `local` is the real local AI Search. */
  kind: "stub" | "local";
  latencyMs: number;
  streamDelayMs: number;
  /** Deltas per streamed answer (stub only). */
  streamDeltas: number;
}

export function startUpstream(credentials: Credentials, o: UpstreamOptions) {
  return startProcess({
    name: `upstream (${o.kind})`,
    entry: here("./stub-upstream.ts"),
    env: {
      ...baseEnv(),
      NODE_ENV: "production",
      BENCH_UPSTREAM: o.kind,
      BENCH_TOKEN: credentials.token,
      BENCH_LATENCY_MS: String(o.latencyMs),
      BENCH_STREAM_DELAY_MS: String(o.streamDelayMs),
      BENCH_STREAM_DELTAS: String(o.streamDeltas),
    },
    ready: readyMessage,
  });
}

export async function startMinimalYoga(credentials: Credentials, upstream: ServerProcess) {
  return startProcess({
    name: "minimal Yoga",
    // Compiled like the gateway's build, so neither carries tsx (see compiled.ts).
    entry: await compiledBenchModule("minimal-yoga.ts"),
    env: {
      ...baseEnv(),
      NODE_ENV: "production",
      BENCH_UPSTREAM_URL: upstream.url,
      BENCH_TOKEN: credentials.token,
    },
    ready: readyMessage,
  });
}

export interface GatewayOptions {
  name: string;
  tree: Tree;
  credentials: Credentials;
  upstream: ServerProcess;
  /** Gateway settings on top of the bench's (environment names). */
  env?: Record<string, string>;
  nodeFlags?: string[];
}

/** The gateway's own environment: production defaults, this upstream, these credentials. */
export function gatewayEnv(o: GatewayOptions, port: number): Record<string, string> {
  return {
    ...baseEnv(),
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_LEVEL: "info",
    CLOUDFLARE_API_BASE_URL: o.upstream.url,
    CLOUDFLARE_ACCOUNT_ID: BENCH_ACCOUNT,
    CLOUDFLARE_API_TOKEN: o.credentials.token,
    AUTH_API_KEYS: o.credentials.apiKey,
    // The bench is one client sending thousands of requests a minute: with production's
    // per-client limit it would measure 429s. The limiter still runs, so its cost counts.
    RATE_LIMIT_PER_MINUTE: "1000000000",
    ...o.env,
  };
}

export async function startGateway(o: GatewayOptions): Promise<ServerProcess> {
  const entry = await startEntry(o.tree.root);
  // The port is picked here and handed over, as an operator would; another process could take
  // it in between, so a start that finds it in use tries another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startProcess({
        name: o.name,
        entry: entry.script,
        cwd: o.tree.root,
        env: gatewayEnv(o, port),
        // The entry's own flags first, so one given to the bench overrides it.
        nodeFlags: [...entry.nodeFlags, ...(o.nodeFlags ?? [])],
        ready: readyWhenServing(`http://127.0.0.1:${port}/healthz`),
      }).then((p) => ({ ...p, url: `http://127.0.0.1:${port}/graphql` }));
    } catch (error) {
      if (attempt >= 3 || !/in use|EADDRINUSE/.test(String(error))) throw error;
    }
  }
}

/** The settings every bench offers for trying a change of configuration on this tree. */
export const TREE_SETTINGS = {
  /** More gateway settings for this tree's gateways: `KEY=value,KEY2=value`. */
  GATEWAY_ENV: z.string().default(""),
  /** Node flags for them, space-separated, e.g. `--max-semi-space-size=64`. */
  GATEWAY_NODE_FLAGS: z.string().default(""),
};

/**
 * What TREE_SETTINGS add to a gateway: only to this tree's, never to the baseline's, so
 * `--baseline-ref=HEAD --gateway-env=…` measures a setting against the same code without it.
 */
export function treeOptions(
  s: { GATEWAY_ENV: string; GATEWAY_NODE_FLAGS: string },
  ownTree: boolean,
): { env: Record<string, string>; nodeFlags: string[] } {
  if (!ownTree) return { env: {}, nodeFlags: [] };
  const env: Record<string, string> = {};
  for (const pair of s.GATEWAY_ENV.split(",").filter((p) => p.trim() !== "")) {
    const match = /^\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new SettingsError(`--gateway-env: "${pair}" is not KEY=value`);
    env[match[1]!] = match[2]!.trim();
  }
  return { env, nodeFlags: s.GATEWAY_NODE_FLAGS.split(/\s+/).filter(Boolean) };
}
