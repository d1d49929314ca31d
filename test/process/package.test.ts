/**
 * What a production install needs: the Node versions `engines` promises, and the dependencies
 * the built files import (the Dockerfile's final stage installs `dependencies` only).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";
import { ROOT } from "./gateway-process.ts";

interface Manifest {
  engines: { node: string };
  dependencies: Record<string, string>;
}
interface LockEntry {
  version?: string;
  engines?: { node?: string };
}

const read = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), "utf8"));
const manifest: Manifest = read("package.json");

describe("package", () => {
  it("runs on the Node version the suite runs on", () => {
    expect(semver.satisfies(process.version, manifest.engines.node)).toBe(true);
  });

  it("promises no Node version an installed package refuses", () => {
    const minimum = semver.minVersion(manifest.engines.node)!.version;
    const packages: Record<string, LockEntry> = read("package-lock.json").packages;
    const refusing = Object.entries(packages)
      .filter(([, entry]) => entry.engines?.node && !semver.satisfies(minimum, entry.engines.node))
      .map(([where, entry]) => `${where}@${entry.version} wants node ${entry.engines!.node}`);
    expect(refusing).toEqual([]);
  });

  it("imports nothing at run time from outside its dependencies", () => {
    const dist = path.join(ROOT, "dist");
    const files = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((file) =>
      file.endsWith(".js"),
    );
    expect(files).toContain("main.js");
    const imported = new Set<string>();
    for (const file of files) {
      const text = readFileSync(path.join(dist, file), "utf8");
      for (const [, specifier] of text.matchAll(/(?:from|import\()\s*"([^"]+)"/g)) {
        if (specifier!.startsWith(".") || specifier!.startsWith("node:")) continue;
        const parts = specifier!.split("/");
        imported.add(specifier!.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!);
      }
    }
    expect(imported.size).toBeGreaterThan(10);
    expect([...imported].filter((name) => !(name in manifest.dependencies))).toEqual([]);
  });
});
