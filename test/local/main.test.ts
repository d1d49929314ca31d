/** The standalone entry point (`npm run local`), run as a real child process. */

import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const MAIN = path.resolve(import.meta.dirname, "../../src/local/main.ts");
let child: ChildProcess | undefined;

afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  child = undefined;
});

function run(env: Record<string, string>) {
  const { LOCAL_PORT: _port, ...inherited } = process.env;
  child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: {
      ...Object.fromEntries(Object.entries(inherited).filter(([k]) => !k.startsWith("LOCAL_"))),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (part) => {
    stdout += part;
  });
  child.stderr!.on("data", (part) => {
    stderr += part;
  });
  const exited = new Promise<number | null>((resolve) =>
    child!.on("exit", (code) => resolve(code)),
  );
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe("npm run local", () => {
  it("exits 1 with one line, no stack, for a bad variable", async () => {
    const { exited, output } = run({ LOCAL_PORT: "not-a-port" });
    expect(await exited).toBe(1);
    expect(output().stderr.trim()).toBe(
      'local-ai-search: LOCAL_PORT="not-a-port" must be a whole number',
    );
    expect(output().stdout).toBe("");
  });

  it("exits 1 with one line for a missing corpus", async () => {
    const { exited, output } = run({ LOCAL_PORT: "0", LOCAL_CORPUS_DIR: "/no/such/corpus" });
    expect(await exited).toBe(1);
    expect(output().stderr.trim().split("\n")).toHaveLength(1);
    expect(output().stderr).toMatch(/corpus directory .* does not exist/);
  });

  it("serves, prints its URL and a curl example, and stops on SIGTERM", async () => {
    const { child, exited, output } = run({ LOCAL_PORT: "0", LOCAL_API_TOKEN: "main-test" });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on("data", () => {
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output().stdout);
        if (match && output().stdout.includes("curl")) resolve(match[1]!);
      });
      child.on("exit", () => reject(new Error(`exited early: ${output().stderr}`)));
    });
    expect(output().stdout).toContain(
      `curl -s -H 'Authorization: Bearer main-test' ${url}/client/v4/accounts/`,
    );
    const response = await fetch(`${url}/client/v4/accounts/x/ai-search/namespaces`, {
      headers: { authorization: "Bearer main-test" },
    });
    expect(response.status).toBe(200);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
