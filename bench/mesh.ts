/**
 * The GraphQL Mesh baseline of bench/gateway.ts (`--mesh`): Mesh v1 over an OpenAPI description
 * of the one REST operation the bench asks (bench/mesh/aisearch-chat.openapi.yaml), composed by
 * `mesh-compose` and served by Hive Gateway's runtime (bench/mesh/serve.mjs) in its own process
 * with the probe, like every other server of the bench.
 *
 * Mesh is not a dependency of the gateway: bench/mesh/ has its own package.json (exact versions)
 * and package-lock.json, and `npm ci` installs it there the first time a run asks for Mesh, or
 * again when that lock changes (its hash is kept beside the install). Its node_modules is
 * git-ignored, and the root's `npm ci` never sees it.
 */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Target } from "./measure.ts";
import { baseEnv, readyMessage, type ServerProcess, startProcess } from "./processes.ts";
import type { Credentials } from "./targets.ts";
import { BENCH_ACCOUNT, DIRECT_BODY } from "./workload.ts";

const run = promisify(execFile);
const MESH_DIR = fileURLToPath(new URL("./mesh/", import.meta.url));
const MODULES = path.join(MESH_DIR, "node_modules");
const INSTALLED_LOCK = path.join(MODULES, ".bench-lock-sha256");

/** A composed supergraph, in a temp folder removed by `cleanup`. */
export interface MeshSupergraph {
  file: string;
  cleanup(): Promise<void>;
}

/** `npm ci` in bench/mesh/ unless its node_modules was installed from the same lock. */
async function install(): Promise<void> {
  const lock = await readFile(path.join(MESH_DIR, "package-lock.json"), "utf8");
  const hash = createHash("sha256").update(lock).digest("hex");
  const installed = existsSync(INSTALLED_LOCK) ? await readFile(INSTALLED_LOCK, "utf8") : "";
  if (installed === hash) return;
  console.log("GraphQL Mesh: installing bench/mesh/ with npm ci (once per lock; about a minute)");
  await run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: MESH_DIR, timeout: 15 * 60_000 });
  await writeFile(INSTALLED_LOCK, hash);
}

/** Installs Mesh if needed and composes the supergraph (`mesh-compose`, a few seconds). */
export async function prepareMesh(): Promise<MeshSupergraph> {
  await install();
  const dir = await mkdtemp(path.join(os.tmpdir(), "aisearch-bench-mesh-"));
  const file = path.join(dir, "supergraph.graphql");
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const cli = path.join(MODULES, "@graphql-mesh/compose-cli/esm/bin.js");
    await run(process.execPath, [cli, "--output", file], {
      cwd: MESH_DIR,
      env: baseEnv(),
      timeout: 120_000,
    });
    return { file, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

export function startMesh(
  supergraph: MeshSupergraph,
  credentials: Credentials,
  upstream: ServerProcess,
): Promise<ServerProcess> {
  return startProcess({
    name: "GraphQL Mesh",
    entry: path.join(MESH_DIR, "serve.mjs"),
    cwd: MESH_DIR,
    env: {
      ...baseEnv(),
      NODE_ENV: "production",
      BENCH_MESH_SUPERGRAPH: supergraph.file,
      BENCH_UPSTREAM_URL: upstream.url,
      BENCH_TOKEN: credentials.token,
    },
    ready: readyMessage,
  });
}

/**
 * The bench's mutation in Mesh's schema (generated from the OpenAPI description, so wire
 * names): the same fields as workload.ts's ASK, and the same upstream body as DIRECT_BODY.
 */
export const MESH_ASK = `mutation Ask($account: String!, $namespace: String!, $input: ChatCompletionRequest_Input) {
  chatCompletion(account_id: $account, name: $namespace, input: $input) {
  id model choices { message { content } } chunks { instance_id score text item { key } }
  errors { instance_id message } } }`;

interface MeshAnswer {
  data?: { chatCompletion?: { choices?: { message?: { content?: unknown } }[] } | null };
  errors?: unknown[];
}

/** The completion text of Mesh's answer (parsed JSON), or undefined. */
export function meshContent(answer: unknown): string | undefined {
  const { data, errors } = answer as MeshAnswer;
  const content = data?.chatCompletion?.choices?.[0]?.message?.content;
  return errors === undefined && typeof content === "string" ? content : undefined;
}

export function meshTarget(url: string): Target {
  return {
    name: "mesh",
    url: new URL(url),
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({
      query: MESH_ASK,
      variables: { account: BENCH_ACCOUNT, namespace: "default", input: DIRECT_BODY },
    }),
    ok: (text) => meshContent(JSON.parse(text)) !== undefined,
  };
}
