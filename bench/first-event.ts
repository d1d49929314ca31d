/**
 * bench/gateway.ts (b): time to the first event of a streamed answer (the retrieved chunks),
 * straight from the upstream's SSE and through each gateway's subscription over SSE and over
 * graphql-ws. Sequential samples, the paths interleaved sample by sample so drift hits all.
 */

import { performance } from "node:perf_hooks";
import { createClient } from "graphql-ws";
import type { Agent } from "undici";
import WebSocket from "ws";
import { fixed, percentiles, ratio, sseFirstEvent, table } from "./measure.ts";
import type { ServerProcess } from "./processes.ts";
import type { Credentials } from "./targets.ts";
import { CHAT_PATH, DIRECT_BODY, INPUT, STREAM, streamEvent } from "./workload.ts";

const isChunks = (result: unknown) =>
  streamEvent(result)?.__typename === "ChatCompletionChunksEvent";

export interface FirstEventOptions {
  agent: Agent;
  credentials: Credentials;
  upstream: ServerProcess;
  gateways: { label: string; url: string }[];
  samples: number;
}

/** A graphql-ws client presenting the API key on the upgrade and in connection_init. */
export function wsClient(url: string, auth: Record<string, string>) {
  class AuthWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: auth });
    }
  }
  return createClient({
    url: url.replace(/^http/, "ws"),
    webSocketImpl: AuthWebSocket,
    connectionParams: auth,
    retryAttempts: 0,
    lazy: true,
  });
}

export async function benchFirstEvent(o: FirstEventOptions) {
  const auth = { authorization: `Bearer ${o.credentials.apiKey}` };
  const json = { "content-type": "application/json", accept: "application/json" };
  const subscription = JSON.stringify({ query: STREAM, variables: { input: INPUT } });
  const clients = o.gateways.map((g) => wsClient(g.url, auth));
  const paths: [string, () => Promise<number>][] = [
    [
      "direct upstream SSE",
      () =>
        sseFirstEvent(
          o.agent,
          {
            name: "direct",
            url: new URL(`${o.upstream.url}${CHAT_PATH}`),
            headers: { ...json, authorization: `Bearer ${o.credentials.token}` },
            body: JSON.stringify({ ...DIRECT_BODY, stream: true }),
            ok: () => true,
          },
          (e) => e.event === "chunks",
        ),
    ],
  ];
  for (const [i, g] of o.gateways.entries()) {
    const target = {
      name: g.label,
      url: new URL(g.url),
      headers: { ...json, ...auth },
      body: subscription,
      ok: () => true,
    };
    paths.push([
      `${g.label} over SSE`,
      () =>
        sseFirstEvent(o.agent, target, (e) => e.event === "next" && isChunks(JSON.parse(e.data))),
    ]);
    paths.push([
      `${g.label} over graphql-ws`,
      async () => {
        const t0 = performance.now();
        let first: number | undefined;
        for await (const result of clients[i]!.iterate({
          query: STREAM,
          variables: { input: INPUT },
        })) {
          first ??= isChunks(result) ? performance.now() - t0 : Number.NaN;
        }
        if (!Number.isFinite(first)) throw new Error(`${g.label}: the first event was not chunks`);
        return first!;
      },
    ]);
  }
  const warmups = 5;
  const samples = paths.map(() => [] as number[]);
  try {
    for (let i = 0; i < warmups + o.samples; i++) {
      for (const [j, [, sample]] of paths.entries()) {
        const first = await sample();
        if (i >= warmups) samples[j]!.push(first);
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
  }
  const ttfe = samples.map(percentiles);
  const base = ttfe[0]!;
  console.log(
    `\n(b) time to first event (the retrieved chunks), ${o.samples} sequential samples each`,
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
