/**
 * Inclusive time below a function in a V8 `.cpuprofile`: the calls it makes, merged by name
 * at each depth, with the time spent in each and everything they call. Self time (what
 * `cpu-profile.ts` prints) shows where a flat profile's time lands; this shows which part of
 * a job (e.g. one SSE stream's setup, under Yoga's `getResultForParams`, against its events,
 * under the response's writes) it lands for.
 *
 * Run: npx tsx bench/cpu-tree.ts <file.cpuprofile> <functionName> [--depth=6] [--min-ms=50]
 * (`"(root)"` for the whole profile). Frames of promise helpers that only pass a call on are
 * still listed: hiding them would hide where a tree is deep.
 */

import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { frameName, type Profile, selfTimes } from "./cpu-profile.ts";
import { fixed } from "./measure.ts";

export interface CallTreeEntry {
  name: string;
  ms: number;
  calls: CallTreeEntry[];
}

/** The calls below every frame named `root`, `depth` levels deep, those under `minMs` left out. */
export function callTree(
  profile: Profile,
  root: string,
  depth: number,
  minMs: number,
): { ms: number; calls: CallTreeEntry[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = selfTimes(profile);
  // Idle is not time on CPU, not even below "(root)".
  for (const id of self.keys())
    if (byId.get(id)?.callFrame.functionName === "(idle)") self.delete(id);
  const inclusive = new Map<number, number>();
  const total = (id: number): number => {
    let us = inclusive.get(id);
    if (us !== undefined) return us;
    us = self.get(id) ?? 0;
    for (const child of byId.get(id)?.children ?? []) us += total(child);
    inclusive.set(id, us);
    return us;
  };
  const below = (ids: number[], levels: number): CallTreeEntry[] => {
    const byName = new Map<string, number[]>();
    for (const id of ids) {
      for (const child of byId.get(id)?.children ?? []) {
        const name = frameName(byId.get(child)!.callFrame);
        byName.set(name, [...(byName.get(name) ?? []), child]);
      }
    }
    return [...byName]
      .map(([name, children]) => {
        const ms = children.reduce((sum, id) => sum + total(id), 0) / 1000;
        return { name, ms, children };
      })
      .filter((entry) => entry.ms >= minMs)
      .sort((a, b) => b.ms - a.ms)
      .map(({ name, ms, children }) => ({
        name,
        ms,
        calls: levels > 1 ? below(children, levels - 1) : [],
      }));
  };
  // A recursive root (a frame named `root` below another) is counted once, from the outermost.
  const roots = profile.nodes.filter((n) => n.callFrame.functionName === root).map((n) => n.id);
  const nested = new Set<number>();
  for (const id of roots) {
    const stack = [...(byId.get(id)?.children ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      nested.add(next);
      stack.push(...(byId.get(next)?.children ?? []));
    }
  }
  const outer = roots.filter((id) => !nested.has(id));
  return { ms: outer.reduce((sum, id) => sum + total(id), 0) / 1000, calls: below(outer, depth) };
}

function printTree(entries: CallTreeEntry[], indent = ""): void {
  for (const entry of entries) {
    console.log(`${indent}${fixed(entry.ms, 0).padStart(6)}  ${entry.name}`);
    printTree(entry.calls, `${indent}  `);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    options: {
      depth: { type: "string", default: "6" },
      "min-ms": { type: "string", default: "50" },
    },
    allowPositionals: true,
  });
  const [file, root] = positionals;
  if (!file || !root) {
    console.error(
      "usage: npx tsx bench/cpu-tree.ts <file.cpuprofile> <functionName> [--depth=6] [--min-ms=50]",
    );
    process.exitCode = 1;
  } else {
    const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
    const tree = callTree(profile, root, Number(values.depth), Number(values["min-ms"]));
    console.log(`${fixed(tree.ms, 0)} ms on CPU in and below ${root}`);
    printTree(tree.calls);
  }
}
