/**
 * Signals reach the gateway and drain it, whichever command runs it: `node dist/main.js`, or
 * `npm start` signalled by a supervisor or with Ctrl-C at a terminal.
 */
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { heldRequest, spawnGateway } from "./gateway-process.ts";

/** Resolves with the connection error, or `undefined` if something still listens. */
function connectError(graphqlUrl: string): Promise<string | undefined> {
  const { hostname, port } = new URL(graphqlUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

describe("signals", () => {
  it("exits at once on a second signal during the drain", async () => {
    // The held request would keep the drain waiting for a minute.
    const gateway = spawnGateway({ env: { SHUTDOWN_TIMEOUT_MS: "60000" } });
    await heldRequest(await gateway.listening());
    gateway.signal("SIGTERM");
    await gateway.waitForLog("shutdown: draining");
    gateway.signal("SIGTERM");
    expect(await gateway.exited()).toEqual({ code: 1, signal: null });
    await gateway.waitForLog("shutdown: second signal, exiting now");
  });

  it("drains when a supervisor sends SIGTERM to npm start, and nothing is left running", async () => {
    const gateway = spawnGateway({ entry: "npm-start", env: { SHUTDOWN_TIMEOUT_MS: "60000" } });
    const graphqlUrl = await gateway.listening();
    const held = await heldRequest(graphqlUrl);
    gateway.signal("SIGTERM");
    await gateway.waitForLog("shutdown: draining");
    held.finish();
    expect(await held.response()).toMatch(/^HTTP\/1\.1 200 [\s\S]*"__typename":"Query"/);
    expect(await gateway.exited()).toEqual({ code: 0, signal: null });
    await gateway.waitForLog("shutdown: done");
    // Every process that held npm's stdout has exited: the gateway was not orphaned.
    await gateway.outputClosed();
    expect(await connectError(graphqlUrl)).toBe("ECONNREFUSED");
  });

  it("drains on Ctrl-C at a terminal under npm start, though npm repeats the SIGINT", async () => {
    // At a terminal, Ctrl-C signals npm and the gateway, and npm forwards its copy too. The two
    // copies usually arrive apart (the repeat is then logged and ignored), but the kernel merges
    // them when both are pending before the gateway runs its handler, as on a loaded machine:
    // either way the drain must run to its end and the exit be 0.
    const gateway = spawnGateway({
      entry: "npm-start",
      terminal: true,
      env: { SHUTDOWN_TIMEOUT_MS: "60000" },
    });
    const [, graphqlUrl] = await gateway.waitForLine(/listening on (http:\/\/\S+)/);
    const held = await heldRequest(graphqlUrl!);
    gateway.child.stdin!.write("\x03");
    await gateway.waitForLog("shutdown: draining");
    held.finish();
    expect(await held.response()).toMatch(/^HTTP\/1\.1 200 /);
    expect(await gateway.exited()).toEqual({ code: 0, signal: null });
    expect(gateway.logs().map((line) => line.msg)).not.toContain(
      "shutdown: second signal, exiting now",
    );
  });
});
