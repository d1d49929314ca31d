/**
 * Builds the chat page into `web/dist`: `index.html` and `assets/` whose names carry a hash of
 * their content, so the gateway can serve them as immutable. The output is committed, like
 * `schema.graphql` and `operations/generated/`, so a fresh clone serves the page with no build
 * step and production images need no bundler; `--check` fails when it is stale.
 *
 *   npm run build:web             writes web/dist and prints the sizes
 *   npm run build:web -- --check  exits 1 if web/dist differs from a fresh build
 */

import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { build } from "esbuild";

const WEB_DIR = path.dirname(fileURLToPath(import.meta.url));
export const DIST_DIR = path.join(WEB_DIR, "dist");

/** A path's name under `web/dist`, with `/` separators on every platform. */
const distName = (file: string) => path.relative(DIST_DIR, file).split(path.sep).join("/");

/** Every file of a fresh build, by its path relative to `web/dist`. */
export async function buildChatPage(): Promise<Map<string, Uint8Array>> {
  const result = await build({
    absWorkingDir: WEB_DIR,
    entryPoints: { app: "src/main.tsx" },
    tsconfig: "tsconfig.json",
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    loader: { ".svg": "file" },
    // urql keeps development warnings behind this.
    define: { "process.env.NODE_ENV": '"production"' },
    outdir: "dist/assets",
    // esbuild's [hash] of an entry also covers the input paths, which differ between checkouts
    // (a symlinked node_modules, say); entries are named by a hash of their bytes below.
    entryNames: "[name]",
    assetNames: "[name]-[hash]",
    publicPath: "/assets",
    legalComments: "none",
    charset: "utf8",
    write: false,
    logLevel: "warning",
  });
  const files = new Map<string, Uint8Array>();
  for (const file of result.outputFiles) {
    let name = distName(file.path);
    if (/^assets\/app\.\w+$/.test(name)) {
      const hash = createHash("sha256").update(file.contents).digest("hex").slice(0, 10);
      name = name.replace(/\.(\w+)$/, `-${hash}.$1`);
    }
    files.set(name, file.contents);
  }
  const url = (extension: string) => {
    const name = [...files.keys()].find(
      (candidate) => candidate.startsWith("assets/") && candidate.endsWith(extension),
    );
    if (!name) throw new Error(`the build wrote no ${extension} file`);
    return `/${name}`;
  };
  const template = await readFile(path.join(WEB_DIR, "index.html"), "utf8");
  const html = template
    .replace("{{js}}", url(".js"))
    .replace("{{css}}", url(".css"))
    .replace("{{icon}}", url(".svg"));
  files.set("index.html", new TextEncoder().encode(html));
  return files;
}

/** The files under `web/dist` now, by relative path. */
export async function readDist(): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const entries = await readdir(DIST_DIR, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(distName(full), await readFile(full));
  }
  return files;
}

/** Paths that differ between two builds: missing, extra or changed. */
export function differences(
  expected: Map<string, Uint8Array>,
  actual: Map<string, Uint8Array>,
): string[] {
  const names = new Set([...expected.keys(), ...actual.keys()]);
  return [...names]
    .filter((name) => {
      const a = expected.get(name);
      const b = actual.get(name);
      return !a || !b || Buffer.compare(a, b) !== 0;
    })
    .sort();
}

function sizes(files: Map<string, Uint8Array>): string {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const rows = [...files].map(([name, body]) => {
    const gz = gzipSync(body, { level: 9 }).byteLength;
    const br = brotliCompressSync(body).byteLength;
    return { name, raw: body.byteLength, gz, br };
  });
  const total = rows.reduce(
    (sum, row) => ({ raw: sum.raw + row.raw, gz: sum.gz + row.gz, br: sum.br + row.br }),
    { raw: 0, gz: 0, br: 0 },
  );
  return [...rows, { name: "total", ...total }]
    .map(
      (row) =>
        `${row.name.padEnd(28)} ${kb(row.raw).padStart(9)} raw ${kb(row.gz).padStart(9)} gzip ${kb(row.br).padStart(9)} br`,
    )
    .join("\n");
}

async function main() {
  const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
  const files = await buildChatPage();
  if (values.check) {
    const stale = differences(files, await readDist());
    if (stale.length > 0) {
      process.stderr.write(
        `web/dist is stale (${stale.join(", ")}): run \`npm run build:web\` and commit the result.\n`,
      );
      process.exit(1);
    }
    return;
  }
  await rm(DIST_DIR, { recursive: true, force: true });
  for (const [name, body] of files) {
    const target = path.join(DIST_DIR, name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, body);
  }
  process.stdout.write(`wrote ${DIST_DIR}\n${sizes(files)}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
