/**
 * The gateway as an operator runs it, in a real child process: `node dist/main.js` (built once
 * by `build.ts`), `node dist/local/main.js`, or `npm start`. Its output is read as lines, and
 * tests wait on conditions with `vi.waitFor`, never on time.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterEach, expect, vi } from "vitest";
import { SETTING_NAMES } from "../../src/config.ts";

export const ROOT = path.resolve(import.meta.dirname, "../..");

/** What each entry runs, from the repository root. */
const ENTRIES = {
  dist: ["node", "dist/main.js"],
  "dist-local": ["node", "dist/local/main.js"],
  "npm-start": ["npm", "start", "--"],
} as const;

export type Entry = keyof typeof ENTRIES;

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface GatewayProcess {
  child: ChildProcess;
  /** Every line written so far, in order. */
  stdout: string[];
  stderr: string[];
  /** The stdout lines that parse as JSON objects. */
  logs(): LogLine[];
  /** The first log line whose `msg` matches, waiting for it. */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<LogLine>;
  /** The first stdout line matching `pattern` (JSON or not), waiting for it. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The GraphQL URL from the `gateway listening` line. */
  listening(): Promise<string>;
  /** The exit code and signal, waiting for the exit at most `timeoutMs`. */
  exited(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Waits until stdout and stderr are closed at the far end: every process that held them,
   * whatever `npm start` started included, has exited.
   */
  outputClosed(timeoutMs?: number): Promise<void>;
  /** Sends `signal` to the process, or to its whole process group (as a terminal's Ctrl-C does). */
  signal(signal: NodeJS.Signals, target?: "process" | "group"): void;
}

const running = new Set<ChildProcess>();
const cacheDirs: string[] = [];

// Each process leads its own process group, so this also ends whatever it started and left
// behind (an orphaned gateway outlives `npm start`).
afterEach(() => {
  for (const child of running) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // The whole group is gone already.
    }
  }
  running.clear();
  for (const dir of cacheDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh `XDG_CACHE_HOME`, removed after the test: the local AI Search keeps its data under it
 * by default, one process per directory, and tests run side by side.
 */
export function tempCacheDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "gateway-process-cache-"));
  cacheDirs.push(dir);
  return dir;
}

/** The test runner's environment without any gateway setting, so only `env` configures it. */
function cleanEnvironment(): Record<string, string> {
  const settings = new Set(SETTING_NAMES);
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && !settings.has(entry[0]) && !entry[0].startsWith("LOCAL_"),
    ),
  );
}

function parse(line: string): LogLine | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" ? (value as LogLine) : undefined;
  } catch {
    return undefined;
  }
}

export function spawnGateway(
  options: {
    entry?: Entry;
    args?: readonly string[];
    /** Settings; `PORT` defaults to `0`, `XDG_CACHE_HOME` to a fresh directory. */
    env?: Record<string, string>;
    /** Run the command through `script`, so its stdin and stdout are a terminal. */
    terminal?: boolean;
    /** @default the repository root */
    cwd?: string;
  } = {},
): GatewayProcess {
  const [command, ...baseArgs] = ENTRIES[options.entry ?? "dist"];
  let argv = [command, ...baseArgs, ...(options.args ?? [])];
  if (options.terminal) {
    // util-linux `script`: -q quiet, -e the command's exit code, -f flush, -c the command.
    argv = ["script", "-qefc", `exec ${argv.join(" ")}`, "/dev/null"];
  }
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd ?? ROOT,
    env: { ...cleanEnvironment(), XDG_CACHE_HOME: tempCacheDir(), PORT: "0", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  running.add(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  let open = 2;
  for (const [input, lines] of [
    [child.stdout!, stdout],
    [child.stderr!, stderr],
  ] as const) {
    createInterface({ input })
      .on("line", (line) => lines.push(line))
      .on("close", () => open--);
  }
  // A stdout closed by the test (a reader gone) must not fail the test with EPIPE or the like.
  child.stdout!.on("error", () => undefined);
  child.stdin!.on("error", () => undefined);

  const ended = () => child.exitCode !== null || child.signalCode !== null;
  const output = () =>
    `stdout:\n${stdout.slice(-20).join("\n")}\nstderr:\n${stderr.slice(-20).join("\n")}`;
  const logs = () => stdout.map(parse).filter((line) => line !== undefined);

  const waitFor = <T>(find: () => T | undefined, what: string, timeoutMs = 15_000) =>
    vi.waitFor(
      () => {
        const found = find();
        if (found !== undefined) return found;
        throw new Error(`no ${what} ${ended() ? "and the process ended" : "yet"}\n${output()}`);
      },
      { timeout: timeoutMs, interval: 20 },
    );
  const waitForLog = (msg: string | RegExp, timeoutMs?: number) =>
    waitFor(
      () =>
        logs().find((line) =>
          typeof msg === "string" ? line.msg === msg : msg.test(String(line.msg)),
        ),
      `log line ${msg}`,
      timeoutMs,
    );

  return {
    child,
    stdout,
    stderr,
    logs,
    waitForLog,
    waitForLine: (pattern, timeoutMs) =>
      waitFor(
        () => stdout.map((line) => pattern.exec(line)).find((match) => match !== null) ?? undefined,
        `line ${pattern}`,
        timeoutMs,
      ),
    async listening() {
      return String((await waitForLog("gateway listening")).graphqlUrl);
    },
    exited(timeoutMs = 15_000) {
      return vi.waitFor(
        () => {
          if (!ended()) throw new Error(`still running after ${timeoutMs} ms\n${output()}`);
          return { code: child.exitCode, signal: child.signalCode };
        },
        { timeout: timeoutMs, interval: 20 },
      );
    },
    async outputClosed(timeoutMs) {
      await waitFor(() => (open === 0 ? true : undefined), "end of stdout and stderr", timeoutMs);
    },
    signal(signal, target = "process") {
      process.kill(target === "group" ? -child.pid! : child.pid!, signal);
    },
  };
}

/**
 * A POST held in flight: the gateway has read its headers and answered `100 Continue` (so its
 * drain counts the request), and the body waits for `finish()`.
 */
export async function heldRequest(graphqlUrl: string) {
  const { host, hostname, port } = new URL(graphqlUrl);
  const socket = connect(Number(port), hostname);
  socket.on("error", () => undefined);
  let received = "";
  socket.on("data", (chunk) => {
    received += String(chunk);
  });
  const body = JSON.stringify({ query: "{ __typename }" });
  socket.write(
    [
      "POST /graphql HTTP/1.1",
      `host: ${host}`,
      "content-type: application/json",
      "accept: application/json",
      `content-length: ${Buffer.byteLength(body)}`,
      "expect: 100-continue",
      "",
      "",
    ].join("\r\n"),
  );
  await vi.waitFor(() => expect(received).toMatch(/^HTTP\/1\.1 100 /));
  return {
    finish: () => socket.write(body),
    /** The raw response once complete: status line, headers and body. */
    response: () =>
      vi.waitFor(() => {
        expect(received).toMatch(/HTTP\/1\.1 100 [\s\S]*HTTP\/1\.1 \d{3} [\s\S]*\r\n\r\n\{.*\}$/);
        return received.slice(received.lastIndexOf("HTTP/1.1 "));
      }),
  };
}
