import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../src/error-codes.ts";

/** The codes README's "Errors" table documents, in its order. */
async function documentedCodes(): Promise<string[]> {
  const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(
    readme.indexOf("\n## Errors\n"),
    readme.indexOf("\n## GraphQL over HTTP"),
  );
  return section
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .flatMap((line) => [...(line.split("|")[1] ?? "").matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!));
}

describe("the error-code registry", () => {
  it("holds exactly the codes README documents", async () => {
    const documented = await documentedCodes();
    expect(documented.length).toBeGreaterThan(20);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual(Object.keys(ErrorCode).sort());
  });

  it("maps each name to itself, so a code reads the same in code and on the wire", () => {
    for (const [name, code] of Object.entries(ErrorCode)) expect(code).toBe(name);
  });
});
