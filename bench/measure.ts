/**
 * Load-generation and reporting primitives for the benches: a closed-loop load over undici,
 * time to the first SSE event, nearest-rank percentiles and plain-text tables. undici (already
 * a dependency) rather than a load tool such as autocannon, because the SSE and graphql-ws
 * measurements need custom clients anyway and one HTTP stack keeps the paths comparable.
 */

import os from "node:os";
import { performance } from "node:perf_hooks";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { Agent } from "undici";

export interface Target {
  name: string;
  url: URL;
  headers: Record<string, string>;
  body: string;
  /** A 200 with an unusable body (e.g. GraphQL errors) counts as a failure. */
  ok(text: string): boolean;
}

export const post = (agent: Agent, t: Target, headers: Record<string, string> = {}) =>
  agent.request({
    origin: t.url.origin,
    path: t.url.pathname,
    method: "POST",
    headers: { ...t.headers, ...headers },
    body: t.body,
  });

/** One request that must succeed; returns the body text. */
export async function askOnce(agent: Agent, t: Target): Promise<string> {
  const res = await post(agent, t);
  const text = await res.body.text();
  if (res.statusCode !== 200 || !t.ok(text)) {
    throw new Error(`${t.name}: ${res.statusCode} ${text.slice(0, 300)}`);
  }
  return text;
}

export interface LoadResult {
  /** Latencies of the successful requests, in ms. */
  latencies: number[];
  errors: number;
  /** Until the last in-flight request returned, so throughput is not flattered. */
  elapsedMs: number;
}

/**
 * A closed loop: `concurrency` workers, each sending its next request when its previous one
 * returns, until `durationMs` has passed. Closed rather than open (fixed arrival rate) so an
 * overloaded target shows up as lower throughput instead of an ever-growing queue.
 */
export async function load(
  agent: Agent,
  t: Target,
  durationMs: number,
  concurrency: number,
): Promise<LoadResult> {
  const result: LoadResult = { latencies: [], errors: 0, elapsedMs: 0 };
  const start = performance.now();
  const worker = async () => {
    while (performance.now() < start + durationMs) {
      const t0 = performance.now();
      try {
        const res = await post(agent, t);
        const text = await res.body.text();
        if (res.statusCode === 200 && t.ok(text)) result.latencies.push(performance.now() - t0);
        else result.errors += 1;
      } catch {
        result.errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.elapsedMs = performance.now() - start;
  return result;
}

/** Time to the first SSE event, which `isFirst` must accept; the stream is then read to its end. */
export async function sseFirstEvent(
  agent: Agent,
  t: Target,
  isFirst: (event: EventSourceMessage) => boolean,
): Promise<number> {
  const t0 = performance.now();
  const res = await post(agent, t, { accept: "text/event-stream" });
  let first: number | undefined;
  let firstOk = false;
  const parser = createParser({
    onEvent(event) {
      if (first !== undefined) return;
      first = performance.now() - t0;
      firstOk = isFirst(event);
    },
  });
  const decoder = new TextDecoder();
  // Reading to the end, rather than aborting, keeps the connection alive for the next sample.
  for await (const chunk of res.body) parser.feed(decoder.decode(chunk, { stream: true }));
  if (res.statusCode !== 200 || first === undefined || !firstOk) {
    throw new Error(`${t.name}: status ${res.statusCode}, unexpected or missing first event`);
  }
  return first;
}

/** Nearest-rank percentiles: every figure printed is a latency that was actually observed. */
export function percentiles(values: readonly number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return { p50: at(50), p99: at(99) };
}

/** Columns padded to their widest cell; the first left-aligned, figures right-aligned. */
export function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const cell = (c: string | undefined, i: number) =>
    i ? (c ?? "").padStart(widths[i]!) : (c ?? "").padEnd(widths[i]!);
  return rows.map((r) => widths.map((_, i) => cell(r[i], i)).join("  ")).join("\n");
}

export const fixed = (v: number, digits = 1) => v.toFixed(digits);
export const ratio = (v: number) => `${v.toFixed(2)}×`;
export const mib = (bytes: number) => fixed(bytes / 1024 / 1024, 0);

/** The machine's load averages (1, 5, 15 min): the context every figure must be read in. */
export const loadAverage = () =>
  os
    .loadavg()
    .map((l) => fixed(l, 2))
    .join(" ");
