/**
 * Bench modules that run inside a measured server process (the probe, the minimal Yoga
 * server), compiled to JavaScript so that process needs no tsx. tsx is not free to carry: it
 * registers Node's module hooks, which run on a thread of their own with a V8 isolate of their
 * own, and that costs a server 40–57 MiB of RSS (measured on the built gateway, idle and after
 * a load) that no production process pays. Only the servers are compiled; the load generator
 * and the stub upstream (which runs the embedded AI Search's sources) keep running under tsx.
 *
 * Types are only stripped (`transpileModule`, no checking: `npm run check` type-checks bench/),
 * and each module's relative imports are compiled alongside it. The output goes under
 * `node_modules/.cache/`, inside the project, so its package imports resolve as the sources' do.
 */

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(BENCH, "..", "node_modules", ".cache", "aisearch-bench");

const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2023,
  // `./workload.ts` in a source becomes `./workload.js` in its output.
  rewriteRelativeImportExtensions: true,
  verbatimModuleSyntax: true,
};

/** Compiled once per bench run: the sources do not change under a running bench. */
const compiled = new Map<string, string>();

/**
 * The compiled JavaScript for `file` (a path relative to bench/, e.g. `probe.ts`), with the
 * bench modules it imports compiled beside it.
 */
export function compiledBenchModule(file: string): string {
  const source = path.resolve(BENCH, file);
  if (path.relative(BENCH, source).startsWith("..")) {
    throw new Error(`${file}: only bench/ modules are compiled for a server process`);
  }
  let output = compiled.get(source);
  if (output) return output;
  output = path.join(OUT, `${path.relative(BENCH, source).replace(/\.ts$/, "")}.js`);
  // Set before the imports are followed, so an import cycle ends here.
  compiled.set(source, output);
  const text = readFileSync(source, "utf8");
  for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
    if (fileName.startsWith(".") && fileName.endsWith(".ts")) {
      compiledBenchModule(path.relative(BENCH, path.resolve(path.dirname(source), fileName)));
    }
  }
  const { outputText } = ts.transpileModule(text, {
    compilerOptions: COMPILER_OPTIONS,
    fileName: source,
  });
  mkdirSync(path.dirname(output), { recursive: true });
  // Renamed into place: a second bench starting at the same time never reads half a file.
  const partial = `${output}.${process.pid}.tmp`;
  writeFileSync(partial, outputText);
  renameSync(partial, output);
  return output;
}
