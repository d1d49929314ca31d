/**
 * What a gateway loads depends on what it is configured to use: the embedded local AI Search,
 * Redis and OpenTelemetry's conventions are imported only when needed (their modules and their
 * heap are most of the resident memory a default gateway would otherwise hold for nothing), and
 * still are when configured.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { spawnGateway, tempCacheDir } from "./gateway-process.ts";

const RECORDER = path.join(import.meta.dirname, "record-scripts.mjs");

/** The scripts a gateway with `env` compiled from start to a clean exit. */
async function scriptsLoaded(env: Record<string, string>): Promise<string[]> {
  const file = path.join(tempCacheDir(), "scripts.txt");
  const gateway = spawnGateway({
    env: { ...env, NODE_OPTIONS: `--import=${RECORDER}`, RECORD_SCRIPTS_TO: file },
  });
  await gateway.listening();
  gateway.signal("SIGTERM");
  expect(await gateway.exited()).toEqual({ code: 0, signal: null });
  return readFileSync(file, "utf8").split("\n");
}

const loads = (scripts: string[], pattern: RegExp) => scripts.some((url) => pattern.test(url));
const LOCAL_SERVER = /\/dist\/local\/server\.js$/;
const IOREDIS = /\/node_modules\/ioredis\//;
const CONVENTIONS = /\/node_modules\/@opentelemetry\/semantic-conventions\//;
const CLOUDFLARE = {
  CLOUDFLARE_API_BASE_URL: "http://127.0.0.1:9/client/v4",
  CLOUDFLARE_ACCOUNT_ID: "lazy-modules",
  CLOUDFLARE_API_TOKEN: "lazy-modules-token",
};

describe("modules loaded at start-up", () => {
  it("in front of Cloudflare, without Redis or tracing: not the local AI Search, ioredis or the conventions", async () => {
    const scripts = await scriptsLoaded(CLOUDFLARE);
    // The recorder sees the gateway's own modules, or the absences below would prove nothing.
    expect(loads(scripts, /\/dist\/server\/app\.js$/)).toBe(true);
    expect(loads(scripts, LOCAL_SERVER)).toBe(false);
    expect(loads(scripts, IOREDIS)).toBe(false);
    expect(loads(scripts, CONVENTIONS)).toBe(false);
  });

  it("loads the embedded local AI Search when it is the upstream (no Cloudflare credentials)", async () => {
    const scripts = await scriptsLoaded({});
    expect(loads(scripts, LOCAL_SERVER)).toBe(true);
  });

  it("loads ioredis with REDIS_URL, and starts and stops cleanly while Redis is unreachable", async () => {
    const scripts = await scriptsLoaded({ ...CLOUDFLARE, REDIS_URL: "redis://127.0.0.1:9" });
    expect(loads(scripts, IOREDIS)).toBe(true);
  });
});
