/**
 * Bench modules that run inside a measured server process (the probe, the minimal Yoga
 * server), compiled to JavaScript so that process needs no tsx. tsx is not free to carry: it
 * registers Node's module hooks, which run on a thread of their own with a V8 isolate of their
 * own. On the built gateway that was 50–57 MiB of RSS idle and 31–48 MiB after a load, memory no
 * production process holds. Only the servers are compiled; the load generators and the stub
 * upstream (which runs the embedded AI Search's sources) keep running under tsx.
 *
 * Types are only stripped (`transpileModule`, no checking: `npm run check` type-checks bench/),
 * and the bench modules each output imports are compiled alongside it. The output goes under
 * `node_modules/.cache/`, inside the project, so its package imports resolve as the sources' do;
 * Node's search for a `package.json` stops at `node_modules`, so the folder has its own, to load
 * the output as ES modules.
 */

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
/** Where the compiled modules go; `bench/cpu-profile.ts` maps frames from here to bench/. */
const COMPILED_DIR = path.join(BENCH, "..", "node_modules", ".cache", "aisearch-bench");

type TypeScript = typeof import("typescript");

/** TypeScript, loaded on first use: a bench that starts no JavaScript server never pays for it. */
let typescript: Promise<TypeScript> | undefined;
/**
 * Compiled once per bench run (the sources do not change under a running bench), source →
 * output. It is filled by a synchronous walk, so a caller never finds a module listed whose
 * output is not yet written, even when two servers start at once (resume.ts's two gateways).
 */
const compiled = new Map<string, string>();
/** The output folder's `package.json`, written once per bench run rather than per module. */
let packageWritten = false;

/**
 * The compiled JavaScript for `file` (a path relative to bench/, e.g. `probe.ts`), with the
 * bench modules it imports compiled beside it.
 */
export async function compiledBenchModule(file: string): Promise<string> {
  const source = path.resolve(BENCH, file);
  if (path.relative(BENCH, source).startsWith("..")) {
    throw new Error(`${file}: only bench/ modules are compiled for a server process`);
  }
  typescript ??= import("typescript").then((module) => module.default);
  return compile(await typescript, source);
}

function compile(ts: TypeScript, source: string): string {
  const known = compiled.get(source);
  if (known) return known;
  const relative = path.relative(BENCH, source);
  const output = path.join(COMPILED_DIR, relative.replace(/\.ts$/, ".js"));
  // Set before the imports are followed, so an import cycle ends here.
  compiled.set(source, output);
  const { outputText } = ts.transpileModule(readFileSync(source, "utf8"), {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2023,
      // `./workload.ts` in a source becomes `./workload.js` in its output.
      rewriteRelativeImportExtensions: true,
      verbatimModuleSyntax: true,
    },
    fileName: source,
  });
  // The output's imports, not the source's: type-only imports are gone from it.
  for (const { fileName } of ts.preProcessFile(outputText, true, true).importedFiles) {
    if (!fileName.startsWith(".")) continue;
    const imported = path.resolve(path.dirname(source), fileName.replace(/\.js$/, ".ts"));
    if (!fileName.endsWith(".js") || !existsSync(imported)) {
      throw new Error(`${relative}: imports ${fileName}, which is not a bench/ TypeScript module`);
    }
    compile(ts, imported);
  }
  if (!packageWritten) {
    writeAtomically(path.join(COMPILED_DIR, "package.json"), '{ "type": "module" }\n');
    packageWritten = true;
  }
  writeAtomically(output, outputText);
  return output;
}

/** Renamed into place: a second bench starting at the same time never reads half a file. */
function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, text);
  renameSync(partial, file);
}
