/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` and the inspector's Profiler write) and
 * prints where the time went: self time by function and by package, and the garbage
 * collector's share. Idle time is left out of the shares: they are of the time the process
 * was on a CPU.
 *
 * Run on any profile: npx tsx bench/cpu-profile.ts <file.cpuprofile> [--top=20]
 */

import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fixed, table } from "./measure.ts";

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, our source folder, Node itself, or V8's bookkeeping. */
export function ownerOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  // The bench's own modules compiled for a server process (the probe, the minimal Yoga server).
  if (url.includes("/node_modules/.cache/aisearch-bench/")) return "bench";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules !== -1) {
    const [scope, name] = url.slice(modules + "/node_modules/".length).split("/");
    return scope?.startsWith("@") ? `${scope}/${name}` : (scope ?? "?");
  }
  if (url.startsWith("node:")) return "node:internal";
  // Our own code, by folder (`src/server`, `src/upstream`…), from this tree or another; a
  // gateway runs its build, whose `dist/` mirrors `src/`.
  const source = /\/(src|dist|bench)\/(.+)$/.exec(url);
  if (!source) return url;
  const top = source[1] === "dist" ? "src" : source[1]!;
  const folders = source[2]!.split("/");
  return folders.length > 1 ? `${top}/${folders[0]}` : top;
}

export interface ProfileSummary {
  /** ms on CPU (idle excluded). */
  busyMs: number;
  gcShare: number;
  functions: { name: string; owner: string; ms: number }[];
  owners: { owner: string; ms: number }[];
}

/** Self time of each node, µs: sample i lasts until sample i + 1 (DevTools' reading). */
export function selfTimes(profile: Profile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const duration = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + Math.max(0, duration));
  }
  return self;
}

/** A frame as the tables name it: function, file and line. */
export function frameName({ functionName, url, lineNumber }: ProfileNode["callFrame"]): string {
  const line = lineNumber > 0 ? `:${lineNumber + 1}` : ""; // tsx-compiled files (the stub upstream) report line 0
  return `${functionName || "(anonymous)"}${url ? ` ${path.basename(url)}${line}` : ""}`;
}

export function summariseProfile(profile: Profile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = selfTimes(profile);
  const functions = new Map<string, { name: string; owner: string; ms: number }>();
  const owners = new Map<string, number>();
  let busy = 0;
  let gc = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const { functionName, url } = frame;
    if (functionName === "(idle)") continue;
    const ms = us / 1000;
    busy += ms;
    if (functionName === "(garbage collector)") gc += ms;
    const owner = ownerOf(url, functionName);
    const name = frameName(frame);
    const entry = functions.get(name) ?? { name, owner, ms: 0 };
    entry.ms += ms;
    functions.set(name, entry);
    owners.set(owner, (owners.get(owner) ?? 0) + ms);
  }
  return {
    busyMs: busy,
    gcShare: busy ? gc / busy : 0,
    functions: [...functions.values()].sort((a, b) => b.ms - a.ms),
    owners: [...owners].map(([owner, ms]) => ({ owner, ms })).sort((a, b) => b.ms - a.ms),
  };
}

export function printProfile(summary: ProfileSummary, top = 15): void {
  const share = (ms: number) => `${fixed((100 * ms) / summary.busyMs)}%`;
  console.log(
    `on CPU ${fixed(summary.busyMs, 0)} ms; garbage collection ${fixed(100 * summary.gcShare)}%`,
  );
  console.log("\nself time by package / folder");
  console.log(
    table([
      ["owner", "ms", "share"],
      ...summary.owners.slice(0, top).map((o) => [o.owner, fixed(o.ms, 0), share(o.ms)]),
    ]),
  );
  console.log("\nself time by function");
  console.log(
    table([
      ["function", "owner", "ms", "share"],
      ...summary.functions
        .slice(0, top)
        .map((f) => [f.name.slice(0, 70), f.owner, fixed(f.ms, 0), share(f.ms)]),
    ]),
  );
}

export async function summariseFile(file: string, top?: number): Promise<ProfileSummary> {
  const summary = summariseProfile(JSON.parse(await readFile(file, "utf8")) as Profile);
  printProfile(summary, top);
  return summary;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, ...rest] = process.argv.slice(2);
  const top = Number(/^--top=(\d+)$/.exec(rest[0] ?? "")?.[1] ?? 20);
  if (!file) {
    console.error("usage: npx tsx bench/cpu-profile.ts <file.cpuprofile> [--top=20]");
    process.exitCode = 1;
  } else await summariseFile(file, top);
}

/**
 * Where a bench writes its profiles: `dir`, made if missing (`--cpu-prof-dir` may name a new
 * one), or else a fresh temporary directory.
 */
export async function profileDirectory(dir: string | undefined): Promise<string> {
  if (dir === undefined) return mkdtemp(path.join(os.tmpdir(), "aisearch-bench-prof-"));
  await mkdir(dir, { recursive: true });
  return dir;
}
