import { describe, expect, it } from "vitest";
import { ConfigError, flagsToEnvironment, loadConfig, SETTING_NAMES } from "../src/config.ts";

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
