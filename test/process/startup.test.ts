/** Start-up mistakes stop the process with exactly one line on stderr, and no stack trace. */
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { spawnGateway } from "./gateway-process.ts";

const FLAG_HINT = "(each variable is a flag: PORT is --port=4001)";

describe("start-up errors", () => {
  it.each([
    { args: ["--prot=4001"], line: `Configuration error: unknown flag --prot ${FLAG_HINT}` },
    { args: ["--verbose"], line: `Configuration error: unknown flag --verbose ${FLAG_HINT}` },
    { args: ["-p=4001"], line: `Configuration error: unknown flag -p ${FLAG_HINT}` },
    { args: ["--PORT=4001"], line: `Configuration error: unknown flag --PORT ${FLAG_HINT}` },
    {
      args: ["--port", "4001"],
      line: 'Configuration error: unexpected argument "4001" (a flag takes its value after "=", as in --port=4001)',
    },
    {
      args: ["--port=not-a-port"],
      line: "Configuration error: invalid PORT: Invalid input: expected number, received NaN",
    },
  ])("$args: exit 1 and one line naming it", async ({ args, line }) => {
    const gateway = spawnGateway({ args });
    expect(await gateway.exited()).toEqual({ code: 1, signal: null });
    await gateway.outputClosed();
    expect(gateway.stderr).toEqual([line]);
    expect(gateway.stdout).toEqual([]);
  });

  it("takes every setting as a --flag=value, over the environment", async () => {
    const gateway = spawnGateway({ args: ["--graphiql=false"], env: { GRAPHIQL: "true" } });
    expect(await gateway.waitForLog("gateway listening")).toMatchObject({ graphiql: false });
  });

  it("exits 1 with one line on stderr, and only JSON on stdout, when the port is in use", async () => {
    const taken = createServer();
    taken.listen(0, "127.0.0.1");
    await once(taken, "listening");
    const { port } = taken.address() as { port: number };
    try {
      const gateway = spawnGateway({ env: { PORT: String(port) } });
      expect(await gateway.exited()).toEqual({ code: 1, signal: null });
      await gateway.outputClosed();
      expect(gateway.stderr).toEqual([
        `Start-up failed: 127.0.0.1:${port} is already in use (choose another PORT)`,
      ]);
      expect(gateway.stdout.length).toBe(gateway.logs().length);
      expect(gateway.logs().map((line) => line.msg)).toContain("start-up failed");
    } finally {
      taken.close();
    }
  });
});
