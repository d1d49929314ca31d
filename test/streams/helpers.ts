/**
 * What the stream tests share: a real `redis-server` per test file, and clients that follow a
 * stream over a raw graphql-ws socket (so a test can drop it without a close frame) or SSE.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { print } from "graphql";
import { Redis } from "ioredis";
import { expect, vi } from "vitest";
import {
  AskStreamDocument,
  type ChatCompletionInput,
  ResumeAskStreamDocument,
} from "../../operations/generated/graphql.ts";
import type { RawSocket, WsMessage } from "../helpers/raw-ws.ts";

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? "redis-server";

/** Whether the Redis tests can run here; throws in CI when they cannot. */
export function redisAvailable(): boolean {
  if (spawnSync(REDIS_SERVER, ["--version"]).status === 0) return true;
  if (process.env.CI) {
    throw new Error(`${REDIS_SERVER} is missing: CI must install Debian's redis-server package`);
  }
  process.stderr.write(
    `Redis tests skipped: ${REDIS_SERVER} is missing (apt-get install -y redis-server)\n`,
  );
  return false;
}

export interface RedisServer {
  url: string;
  port: number;
  /** A client of its own (no key prefix), to look at what the gateway wrote. */
  client: Redis;
  /** Kills the server (SIGKILL): what a crash or a lost network looks like to the gateway. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A `redis-server` on a free loopback port, in a temporary directory, persisting nothing. Test
 * files run in parallel, each with servers of its own: a port another process took between the
 * probe and the bind makes this server exit, and it tries again on another port; the readiness
 * check asks for the process id, so it never mistakes someone else's Redis for its own.
 */
export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(tmpdir(), "gateway-redis-"));
  let child: ChildProcess | undefined;
  /** Whether a server of this test now answers on `port` (false: it exited). */
  const launch = async (port: number): Promise<boolean> => {
    const started = spawn(
      REDIS_SERVER,
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { stdio: "ignore" },
    );
    child = started;
    const probe = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      retryStrategy: () => 50,
    });
    probe.on("error", () => {});
    try {
      return await vi.waitFor(
        async () => {
          if (started.exitCode !== null || started.signalCode !== null) return false;
          expect(await probe.info("server")).toContain(`process_id:${started.pid}\r\n`);
          return true;
        },
        { timeout: 10_000, interval: 50 },
      );
    } finally {
      probe.disconnect();
    }
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await exited;
  };
  let port = 0;
  for (let attempt = 0; port === 0; attempt++) {
    const candidate = await freePort();
    if (await launch(candidate)) port = candidate;
    else if (attempt === 4) throw new Error(`${REDIS_SERVER} would not start on a free port`);
  }
  const client = new Redis({ port, host: "127.0.0.1", retryStrategy: () => 50 });
  client.on("error", () => {});
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    client,
    kill,
    async restart() {
      if (!(await launch(port)))
        throw new Error(`${REDIS_SERVER} would not start again on ${port}`);
    },
    async stop() {
      client.disconnect();
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a stream event carries that these tests read. */
export interface Event {
  __typename: string;
  streamId: string;
  sequence: number;
  content?: string;
  code?: string;
  completion?: { content: string | null };
}

export const eventOf = (payload: unknown): Event | undefined => {
  const data = (payload as { data?: Record<string, Event> } | undefined)?.data;
  return data?.chatCompletionStream ?? data?.resumeChatCompletionStream;
};

export const isLast = (event: Event) =>
  event.__typename === "ChatCompletionDoneEvent" ||
  event.__typename === "ChatCompletionFailedEvent";

export const ask = (input: ChatCompletionInput) => ({
  query: print(AskStreamDocument),
  variables: { input },
});

export const resume = (streamId: string, afterSequence: number) => ({
  query: print(ResumeAskStreamDocument),
  variables: { streamId, afterSequence },
});

/** Subscribes on a raw socket; `take(n)` then reads events of that subscription. */
export function follow(raw: RawSocket, id: string, payload: object) {
  raw.send({ id, type: "subscribe", payload });
  return {
    /** The next message of this subscription, as it came. */
    message: (timeoutMs = 10_000): Promise<WsMessage> => raw.nextFor(id, timeoutMs),
    /** Events until `until` holds for one (included) or the subscription completes. */
    async events(until: (event: Event) => boolean = isLast, timeoutMs = 10_000) {
      const events: Event[] = [];
      for (;;) {
        const message = await raw.nextFor(id, timeoutMs);
        if (message.type === "complete") return events;
        if (message.type !== "next") throw new Error(`unexpected ${JSON.stringify(message)}`);
        const event = eventOf(message.payload);
        if (!event) throw new Error(`no event in ${JSON.stringify(message.payload)}`);
        events.push(event);
        if (until(event)) return events;
      }
    },
  };
}

/** The answer's text from its events, and the done event's own. */
export function textOf(events: Event[]) {
  return events
    .filter((e) => e.__typename === "ChatCompletionDeltaEvent")
    .map((e) => e.content)
    .join("");
}

/** Asserts `events` number 0..n-1 contiguously and end with done, whose text they add up to. */
export function expectWhole(events: Event[]) {
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i));
  expect(new Set(events.map((e) => e.streamId)).size).toBe(1);
  const done = events.at(-1)!;
  expect(done.__typename).toBe("ChatCompletionDoneEvent");
  expect(textOf(events)).toBe(done.completion?.content);
}

export interface Replica {
  graphqlUrl: string;
  url: string;
  child: ChildProcess;
  /** Log lines so far (JSON objects). */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * A gateway in a process of its own, run from source as `npm start` runs it, with only `env`
 * for settings; resolves once it listens.
 */
export async function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const errors: string[] = [];
  let buffered = "";
  child.stdout!.on("data", (part: Buffer) => {
    buffered += part.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        errors.push(line);
      }
    }
  });
  child.stderr!.on("data", (part: Buffer) => errors.push(part.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  };
  try {
    const graphqlUrl = await vi.waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`replica exited: ${errors.join("")}`);
        const line = logs.find((entry) => entry.msg === "gateway listening");
        if (!line) throw new Error("not listening yet");
        return String(line.graphqlUrl);
      },
      { timeout: 30_000, interval: 50 },
    );
    return { graphqlUrl, url: graphqlUrl.replace(/\/graphql$/, ""), child, logs, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${errors.join("")}`);
  }
}
