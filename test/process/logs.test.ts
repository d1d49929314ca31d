/**
 * Logging never blocks the process: a stdout nobody reads, or whose reader is gone, stalls
 * neither requests nor the exit. Lines may be lost then; the process may not hang.
 */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { type GatewayProcess, spawnGateway } from "./gateway-process.ts";

const SHUTDOWN_TIMEOUT_MS = 2000;
/** More log lines than a pipe and `LOG_BUFFER_BYTES` together hold (about 300 here). */
const REQUESTS = 800;

const settings = {
  SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  LOG_BUFFER_BYTES: "16384",
  RATE_LIMIT_PER_MINUTE: "1000000",
};

/** Sends `total` small queries, 16 at a time; resolves with how many were answered 200. */
async function query(graphqlUrl: string, total: number): Promise<number> {
  let sent = 0;
  let answered = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      const response = await fetch(graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      await response.text();
      if (response.status === 200) answered++;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return answered;
}

const operations = (gateway: GatewayProcess) =>
  gateway.logs().filter((line) => line.msg === "graphql operation").length;

describe("logging", () => {
  // With nothing written to the broken pipe before the signal, pino's default destination hung.
  it.each([0, 50])(
    "with the reader of stdout gone, serves %i requests and exits within SHUTDOWN_TIMEOUT_MS",
    async (requests) => {
      const gateway = spawnGateway({ env: settings });
      const graphqlUrl = await gateway.listening();
      gateway.child.stdout!.destroy();
      await once(gateway.child.stdout!, "close");
      expect(await query(graphqlUrl, requests)).toBe(requests);
      gateway.signal("SIGTERM");
      expect(await gateway.exited(SHUTDOWN_TIMEOUT_MS + 1000)).toEqual({ code: 0, signal: null });
      expect(gateway.stderr).toEqual([]);
    },
  );

  it("stalls neither requests nor the exit while stdout is not read", async () => {
    const gateway = spawnGateway({ env: settings });
    const graphqlUrl = await gateway.listening();
    gateway.child.stdout!.pause();
    expect(await query(graphqlUrl, REQUESTS)).toBe(REQUESTS);
    gateway.signal("SIGTERM");
    expect(await gateway.exited(SHUTDOWN_TIMEOUT_MS + 1000)).toEqual({ code: 0, signal: null });
    // What the pipe held is still read; what did not fit was dropped, not queued without bound.
    gateway.child.stdout!.resume();
    await gateway.outputClosed();
    expect(operations(gateway)).toBeLessThan(REQUESTS);
    expect(gateway.stdout.filter((line) => !line.startsWith("{"))).toEqual([]);
  });

  it("says how many lines were dropped once stdout is read again", async () => {
    const gateway = spawnGateway({ env: settings });
    const graphqlUrl = await gateway.listening();
    gateway.child.stdout!.pause();
    expect(await query(graphqlUrl, REQUESTS)).toBe(REQUESTS);
    gateway.child.stdout!.resume();
    const warning = await gateway.waitForLog("logs: stdout was not being read, lines were dropped");
    expect(warning.level).toBe("warn");
    expect(warning.droppedLines).toBeGreaterThan(0);
    // One line per operation: each was either written or counted as dropped.
    expect(operations(gateway) + Number(warning.droppedLines)).toBe(REQUESTS);
  });
});

describe("a fault nothing caught", () => {
  it("is a fatal JSON line that still leaves a full stdout pipe, then exit code 1", async () => {
    // A preloaded module stands in for a bug that throws outside any request's handling.
    const fault = `process.on("SIGUSR2", () => setImmediate(() => { throw new Error("probe fault"); }))`;
    const gateway = spawnGateway({
      env: {
        ...settings,
        LOG_BUFFER_BYTES: "4194304",
        NODE_OPTIONS: `--import "data:text/javascript,${encodeURIComponent(fault)}"`,
      },
    });
    const graphqlUrl = await gateway.listening();
    // More lines than the pipe holds: the rest wait in the process, as the fatal line will.
    gateway.child.stdout!.pause();
    const requests = 400;
    expect(await query(graphqlUrl, requests)).toBe(requests);
    gateway.signal("SIGUSR2");
    gateway.child.stdout!.resume();
    expect(await gateway.exited()).toEqual({ code: 1, signal: null });
    await gateway.outputClosed();
    expect(operations(gateway)).toBe(requests);
    const fatal = gateway.logs().find((line) => line.msg === "uncaughtException");
    expect(fatal).toMatchObject({ level: "fatal", err: { message: "probe fault" } });
    expect(gateway.stdout.filter((line) => !line.startsWith("{"))).toEqual([]);
  });
});

describe("start-up banner", () => {
  it("is one JSON line when stdout is not a terminal", async () => {
    const gateway = spawnGateway();
    const listening = await gateway.waitForLog("gateway listening");
    expect(listening).toMatchObject({
      level: "info",
      graphqlUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/),
      chatPageUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/),
      upstream: { kind: "local", baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/) },
      graphiql: true,
    });
    gateway.signal("SIGTERM");
    await gateway.exited();
    await gateway.outputClosed();
    expect(gateway.stdout.length).toBeGreaterThan(1);
    expect(gateway.stdout.filter((line) => !line.startsWith("{"))).toEqual([]);
  });

  it("writes Node's own warnings as JSON log lines, not text on stderr", async () => {
    // A preloaded module stands in for a listener leak or a deprecation somewhere in a library,
    // once the gateway runs: it warns when the test says so (SIGUSR2).
    const warn = `process.on("SIGUSR2", () => process.emitWarning("probe warning"))`;
    const gateway = spawnGateway({
      env: { NODE_OPTIONS: `--import "data:text/javascript,${encodeURIComponent(warn)}"` },
    });
    await gateway.waitForLog("gateway listening");
    gateway.signal("SIGUSR2");
    const line = await gateway.waitForLog("node warning");
    expect(line).toMatchObject({ level: "warn", err: { message: "probe warning" } });
    gateway.signal("SIGTERM");
    await gateway.exited();
    await gateway.outputClosed();
    expect(gateway.stderr.join("\n")).not.toContain("probe warning");
  });

  it("leaves the chat page URL out when CHAT_PAGE is off", async () => {
    const gateway = spawnGateway({ env: { CHAT_PAGE: "false" } });
    const listening = await gateway.waitForLog("gateway listening");
    expect(listening.graphqlUrl).toMatch(/\/graphql$/);
    expect(listening).not.toHaveProperty("chatPageUrl");
  });

  it("is friendly text at a terminal, where Ctrl-C drains and exits 0", async () => {
    const gateway = spawnGateway({ terminal: true });
    await gateway.waitForLine(/^AI Search GraphQL gateway listening on http:\/\/127\.0\.0\.1:\d+/);
    await gateway.waitForLine(/^Chat page: open http:\/\/127\.0\.0\.1:\d+\/ in a browser$/);
    await gateway.waitForLine(/^Try this in GraphiQL:/);
    gateway.child.stdin!.write("\x03");
    expect(await gateway.exited()).toEqual({ code: 0, signal: null });
    await gateway.waitForLog("shutdown: done");
  });
});
