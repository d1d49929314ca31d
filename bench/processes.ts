/**
 * Starting, probing and stopping the processes a bench measures. Every server runs in its own
 * process with bench/probe.ts loaded, so its CPU time, memory and event-loop delay are its
 * own and not the load generator's. A gateway is started through its production entry (its
 * tree's build, with the flags of its package.json `start` script: see {@link startEntry}),
 * configured by environment variables only, so the same code starts this tree's gateway and
 * one built from another commit.
 */

import { type ChildProcess, execFile, fork } from "node:child_process";
import { once } from "node:events";
import { closeSync, existsSync, fstatSync, openSync, rmSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { compiledBenchModule } from "./compiled.ts";
import type { ProbeReply, ProbeRequest, ProbeStats } from "./probe.ts";

const run = promisify(execFile);
const PROBE_SOURCE = pathToFileURL(fileURLToPath(new URL("./probe.ts", import.meta.url))).href;
/** How long a server may take to start: tsx compiles a TypeScript entry on the fly, and the machine is shared. */
const START_TIMEOUT_MS = 90_000;

export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  stats(options?: { resetLag?: boolean }): Promise<ProbeStats>;
  /** A full collection first, for heap figures that mean something (needs `--expose-gc`). */
  collectGarbage(): Promise<void>;
  startProfile(intervalUs?: number): Promise<void>;
  stopProfile(file: string): Promise<void>;
  /** Bytes the process wrote to stdout so far (its log lines). */
  outputBytes(): number;
  /** SIGTERM (the production shutdown path), then SIGKILL if it does not exit in time. */
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** The script to run, absolute. */
  entry: string;
  cwd?: string;
  /** The whole environment of the process: nothing leaks in from the bench's own. */
  env: Record<string, string>;
  /** Extra node flags, e.g. `--max-semi-space-size=64`. */
  nodeFlags?: string[];
  /** Resolves with the server's URL once it serves. */
  ready(child: ChildProcess): Promise<string>;
}

/** The environment every child needs whatever it runs (a clean one otherwise). */
export function baseEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "TMPDIR", "LANG", "TZ"];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])));
}

/** One request/reply over IPC; bounded, so a wedged child fails the bench instead of hanging it. */
function ask(child: ChildProcess, name: string, request: ProbeRequest): Promise<ProbeReply> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      clearTimeout(timer);
      child.off("exit", onExit);
      child.off("message", onMessage);
    };
    const fail = (why: string) => {
      settle();
      reject(new Error(`${name} ${why}`));
    };
    const onExit = (code: number | null) => fail(`exited (${code})`);
    const onMessage = (reply: ProbeReply) => {
      if (typeof reply !== "object" || reply === null || !("probe" in reply)) return;
      settle();
      if (reply.probe === "done" && reply.error) reject(new Error(`${name}: ${reply.error}`));
      else resolve(reply);
    };
    const timer = setTimeout(() => fail(`did not answer the probe within 60 s`), 60_000);
    child.on("exit", onExit);
    child.on("message", onMessage);
    child.send(request);
  });
}

/**
 * A JavaScript entry (a gateway's build, the compiled minimal Yoga server, Mesh) runs as
 * production would, on plain node with the compiled probe: no tsx and its module-hooks thread
 * in the process measured (see compiled.ts). It keeps the bench's other node flags (soak.ts's
 * `--expose-gc`). A TypeScript one (the stub upstream, an older tree's source entry) runs
 * under the bench's own loader (tsx), then the probe's source.
 */
async function execArgv(options: StartOptions): Promise<string[]> {
  const flags = options.nodeFlags ?? [];
  if (/\.m?js$/.test(options.entry)) {
    const probe = pathToFileURL(await compiledBenchModule("probe.ts")).href;
    return [...withoutLoaders(process.execArgv), ...flags, "--import", probe];
  }
  return [...process.execArgv, ...flags, "--import", PROBE_SOURCE];
}

const PRELOAD = "(-r|--import|--require|--loader|--experimental-loader)";
/** A preload flag, alone (its module is the next word) or as `--flag=module`. */
const LOADER = new RegExp(`^${PRELOAD}(=|$)`);
const LOADER_ALONE = new RegExp(`^${PRELOAD}$`);

/** Node flags without the modules they preload: `--import tsx`, `--require=…`, `-r …`. */
function withoutLoaders(words: string[]): string[] {
  return words.filter((word, i) => !LOADER.test(word) && !LOADER_ALONE.test(words[i - 1] ?? ""));
}

export async function startProcess(options: StartOptions): Promise<ServerProcess> {
  // Before the log file: compiling the probe can fail, leaving nothing to clean up.
  const args = await execArgv(options);
  // Stdout (the gateway's log lines) goes to a file: written like any log sink, counted by its
  // size, and never broken. A pipe read by the bench breaks when the bench dies, and a logger
  // writing synchronously to a broken pipe can spin on EPIPE instead of shutting down. The file
  // is unlinked at once, so nothing is left on disk however the bench ends.
  const logDir = await mkdtemp(path.join(os.tmpdir(), "aisearch-bench-out-"));
  const stdout = openSync(path.join(logDir, "stdout.log"), "w");
  const child = fork(options.entry, [], {
    cwd: options.cwd,
    env: options.env,
    execArgv: args,
    stdio: ["ignore", stdout, "pipe", "ipc"],
  });
  rmSync(logDir, { recursive: true, force: true });
  // Errors are rare and short; keep the end of them for a start-up failure's message.
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const exited = once(child, "exit");
  void exited.then(() => closeSync(stdout));
  let url: string;
  try {
    url = await Promise.race([
      options.ready(child),
      exited.then(([code]) => {
        throw new Error(`${options.name} exited (${code}) while starting:\n${stderr}`);
      }),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`${options.name} not ready after ${START_TIMEOUT_MS} ms`)),
          START_TIMEOUT_MS,
        ).unref(),
      ),
    ]);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const stats = async (o: { resetLag?: boolean } = {}) => {
    const reply = await ask(child, options.name, { probe: "stats", ...o });
    if (reply.probe !== "stats") throw new Error(`${options.name}: unexpected probe reply`);
    return reply.stats;
  };
  return {
    name: options.name,
    url,
    pid: child.pid!,
    stats,
    collectGarbage: async () => {
      await ask(child, options.name, { probe: "gc" });
    },
    startProfile: async (intervalUs = 500) => {
      await ask(child, options.name, { probe: "profile-start", intervalUs });
    },
    stopProfile: async (file) => {
      await ask(child, options.name, { probe: "profile-stop", path: file });
    },
    outputBytes: () => (child.exitCode === null ? fstatSync(stdout).size : 0),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** For bench-owned servers: they send `{ url }` over IPC once they listen. */
export function readyMessage(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (typeof message === "object" && message !== null && "url" in message) {
        child.off("message", onMessage);
        resolve(String(message.url));
      }
    };
    child.on("message", onMessage);
  });
}

/** A port free right now, for a server that takes its port from its configuration. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** Polls `url` until it answers 200 (a gateway's `/healthz`), or the process exits. */
export function readyWhenServing(url: string): (child: ChildProcess) => Promise<string> {
  return async (child) => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
      const ok = await fetch(url).then(
        async (res) => {
          await res.body?.cancel();
          return res.ok;
        },
        () => false,
      );
      if (ok) return url;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${url} never answered 200`);
  };
}

/**
 * What a tree runs in production: its build (`npm run build`: tsc into `dist/`) started as the
 * image's `CMD` starts it, `node <flags> dist/main.js`, with the V8/Node flags of its `start`
 * script (`--max-semi-space-size=32`). Its `--import`/`--require` preloads are left out: the
 * bench loads its probe itself, and a built entry needs no tsx (see {@link execArgv}).
 *
 * Not the `start` script's tsx: tsx compiles with esbuild's `keepNames`, which wraps every
 * function in a `__name` call redefining its `name`, so each closure gets its own property store
 * (256 bytes) and costs a call when created: at 1,000 live streams 13% of the gateway's heap, and
 * CPU a production gateway never spends. A tree without `tsconfig.build.json` (an older commit)
 * still runs its `start` script's source entry under tsx.
 */
export async function startEntry(root: string): Promise<{ script: string; nodeFlags: string[] }> {
  const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
    scripts?: { start?: string };
  };
  const start = pkg.scripts?.start ?? "";
  const script = /(\S+\.(?:ts|js|mjs))\b/.exec(start)?.[1];
  if (!script) throw new Error(`${root}: no script found in package.json "start"`);
  const words = start.slice(0, start.indexOf(script)).split(/\s+/);
  const nodeFlags = withoutLoaders(words).filter((word) => word.startsWith("--"));
  if (!existsSync(path.join(root, "tsconfig.build.json"))) {
    return { script: path.resolve(root, script), nodeFlags };
  }
  await built(root);
  return { script: path.join(root, "dist", "main.js"), nodeFlags };
}

/**
 * One build per tree and bench run. tsc builds incrementally (seconds when little changed), but
 * trusts its build info: an output deleted since is not written again, so a missing entry means
 * a full build.
 */
const builds = new Map<string, Promise<void>>();
function built(root: string): Promise<void> {
  let build = builds.get(root);
  if (!build) {
    const tsc = path.join(root, "node_modules", ".bin", "tsc");
    const compile = (...extra: string[]) =>
      run(tsc, ["-p", "tsconfig.build.json", ...extra], {
        cwd: root,
        maxBuffer: 16 * 1024 * 1024,
      });
    build = compile()
      .then(async () => {
        if (!existsSync(path.join(root, "dist", "main.js")))
          await compile("--incremental", "false");
      })
      .catch((error: { stdout?: string; stderr?: string; message?: string }) => {
        // tsc reports type errors on stdout; a missing or crashing tsc, on stderr or not at all.
        const output = error.stdout || error.stderr || error.message || String(error);
        throw new Error(`${root}: tsc -p tsconfig.build.json failed:\n${output.slice(-4_000)}`);
      });
    builds.set(root, build);
  }
  return build;
}

/** Stops every process given, in parallel; a failure to stop one does not skip the others. */
export async function stopAll(processes: readonly (ServerProcess | undefined)[]): Promise<void> {
  await Promise.allSettled(processes.map((p) => p?.stop()));
}
