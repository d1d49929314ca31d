import { describe, expect, it } from "vitest";
import { ConfigError, flagsToEnvironment, loadConfig, SETTING_NAMES } from "../src/config.ts";
import { parseLocalEnv } from "../src/local/env.ts";

describe("flags", () => {
  it("gives every setting a --flag=value form", () => {
    for (const name of SETTING_NAMES) {
      const flag = `--${name.toLowerCase().replaceAll("_", "-")}`;
      expect(flagsToEnvironment([`${flag}=x=1`], SETTING_NAMES)).toEqual({ [name]: "x=1" });
    }
  });

  it("reads a bare flag as true, and lets flags win over the environment", () => {
    expect(loadConfig({ GRAPHIQL: "false" }, ["--graphiql"]).graphiql).toBe(true);
    expect(loadConfig({ PORT: "4001" }, ["--port=4002"]).port).toBe(4002);
  });

  it.each([
    [["--prot=4001"], /^unknown flag --prot /],
    [["--port", "4001"], /^unexpected argument "4001" /],
    [["-p"], /^unknown flag -p /],
  ])("refuses %j", (argv, message) => {
    expect(() => loadConfig({}, argv)).toThrow(ConfigError);
    expect(() => loadConfig({}, argv)).toThrow(message);
  });

  it("accepts any name when no names are given (the benchmarks check their own)", () => {
    expect(flagsToEnvironment(["--duration-s=5"])).toEqual({ DURATION_S: "5" });
  });
});

describe("replicas and resumable streams", () => {
  it("keeps everything in process unless REDIS_URL is set", () => {
    expect(loadConfig({}).redis).toBeUndefined();
    expect(loadConfig({ REDIS_URL: "redis://10.0.0.5:6380/2" }).redis).toEqual({
      url: "redis://10.0.0.5:6380/2",
      keyPrefix: "aisearch-gateway:",
    });
    expect(
      loadConfig({ REDIS_URL: "rediss://cache.example:6379", REDIS_KEY_PREFIX: "gw1:" }).redis,
    ).toEqual({ url: "rediss://cache.example:6379", keyPrefix: "gw1:" });
  });

  it("takes grace and TTL down to 100 ms, with their defaults", () => {
    expect(loadConfig({}).limits.resume).toEqual({ graceMs: 15_000, ttlMs: 300_000 });
    expect(
      loadConfig({ STREAM_RESUME_GRACE_MS: "100", STREAM_RESUME_TTL_MS: "100" }).limits.resume,
    ).toEqual({ graceMs: 100, ttlMs: 100 });
  });

  it.each([
    [{ REDIS_URL: "http://cache:6379" }, /^invalid REDIS_URL/],
    [{ REDIS_URL: "not a url" }, /^invalid REDIS_URL/],
    [{ REDIS_KEY_PREFIX: "has space:" }, /^invalid REDIS_KEY_PREFIX/],
    [{ STREAM_RESUME_GRACE_MS: "99" }, /^invalid STREAM_RESUME_GRACE_MS/],
    [{ STREAM_RESUME_TTL_MS: "0" }, /^invalid STREAM_RESUME_TTL_MS/],
  ])("refuses %j", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe("the embedded local AI Search", () => {
  const embedded = (env: Record<string, string>) => {
    const { upstream } = loadConfig(env);
    if (upstream.kind !== "local") throw new Error("expected the embedded local AI Search");
    return upstream;
  };

  // The gateway and `npm run local` read these variables with one definition.
  it.each([
    [{}, 15],
    [{ LOCAL_STREAM_DELAY_MS: "0" }, 0],
    [{ LOCAL_STREAM_DELAY_MS: "60000" }, 60_000],
  ])("reads %j as a %i ms stream delay, as npm run local does", (env, delayMs) => {
    expect(embedded(env).streamDelayMs).toBe(delayMs);
    expect(parseLocalEnv(env).streamDelayMs).toBe(delayMs);
  });

  it.each([["60001"], ["1e3"], ["-1"], ["2.5"]])(
    "refuses LOCAL_STREAM_DELAY_MS=%s, as npm run local does",
    (value) => {
      const env = { LOCAL_STREAM_DELAY_MS: value };
      expect(() => loadConfig(env)).toThrow(/^invalid LOCAL_STREAM_DELAY_MS/);
      expect(() => parseLocalEnv(env)).toThrow(/^LOCAL_STREAM_DELAY_MS=/);
    },
  );

  it("passes the corpus and data directories through", () => {
    expect(embedded({ LOCAL_CORPUS_DIR: "/c", LOCAL_DATA_DIR: "/d" })).toMatchObject({
      corpusDir: "/c",
      dataDir: "/d",
    });
  });
});
