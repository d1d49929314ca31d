/**
 * `npm run bench`: every bench in bench/, one after another (never in parallel: they would
 * compete for the same cores and skew each other's figures). A failing bench does not stop
 * the others; the exit code reports it. Each with its defaults, a few minutes in all; run one
 * alone for its settings (e.g. `npx tsx bench/gateway.ts --baseline-ref=main`).
 */

import { main as client } from "./client.ts";
import { main as gateway } from "./gateway.ts";
import { main as streams } from "./streams.ts";

const benches: [name: string, run: () => Promise<unknown>][] = [
  ["gateway", () => gateway()],
  // Its defaults are the small run (1,000 streams); --levels=1000,5000,10000 is the full one.
  ["streams", () => streams()],
  ["client", () => client()],
];

for (const [name, run] of benches) {
  console.log(`\n=== bench/${name}.ts ===\n`);
  const started = performance.now();
  try {
    await run();
    console.log(
      `\nbench/${name}.ts done in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    console.error(`\nbench/${name}.ts failed:`, error);
    process.exitCode = 1;
  }
}
