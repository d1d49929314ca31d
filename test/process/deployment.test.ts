/**
 * The deployment files, as far as a machine without a container runtime can check them: the
 * image's file layout runs, and `.env.example` lists every setting with its true default.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig, SETTING_NAMES } from "../../src/config.ts";
import { parseLocalEnv } from "../../src/local/env.ts";
import { ROOT, spawnGateway } from "./gateway-process.ts";

const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
const API_KEY = "deployment-test-key-0123456789";

describe("Dockerfile", () => {
  const image = mkdtempSync(path.join(tmpdir(), "gateway-image-"));
  afterAll(() => rmSync(image, { recursive: true, force: true }));

  it("puts in its final stage every file the production entry reads", async () => {
    const finalStage = read("Dockerfile")
      .split(/^FROM /m)
      .at(-1)!;
    expect(finalStage).toMatch(/^CMD \["node", "--max-semi-space-size=32", "dist\/main\.js"\]$/m);
    expect(finalStage).toMatch(/^USER node$/m);
    expect(finalStage).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    // Lay the stage out as Docker would: build-stage files are this checkout (dist/ built by
    // the global setup), and the deps stage's node_modules is ours.
    const copies = [...finalStage.matchAll(/^COPY (?:--from=(\w+) )?(\S+) (\S+)$/gm)];
    expect(copies.length).toBeGreaterThan(3);
    for (const [, stage, from, to] of copies) {
      const source = path.join(ROOT, stage ? path.relative("/app", from!) : from!);
      const target = path.join(
        image,
        to!.endsWith("/") ? path.join(to!, path.basename(from!)) : to!,
      );
      mkdirSync(path.dirname(target), { recursive: true });
      if (stage === "deps") symlinkSync(source, target);
      else cpSync(source, target, { recursive: true });
    }
    const gateway = spawnGateway({
      cwd: image,
      env: {
        NODE_ENV: "production",
        AUTH_API_KEYS: API_KEY,
        TRUSTED_DOCUMENTS: "enforce",
        // Off by default in production; on, the built chat page must be in the image too.
        CHAT_PAGE: "true",
      },
    });
    const graphqlUrl = await gateway.listening();
    const manifest = JSON.parse(read("operations/generated/persisted-documents.json"));
    const [documentId] = Object.entries(manifest).find(([, text]) =>
      String(text).startsWith("query Namespaces"),
    )!;
    const response = await fetch(graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": API_KEY },
      body: JSON.stringify({ documentId, variables: {} }),
    });
    const body = await response.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.namespaces.totalCount).toBeGreaterThan(0);
    const page = await fetch(new URL("/", graphqlUrl));
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect((await fetch(new URL(script!, graphqlUrl))).status).toBe(200);
  });
});

describe(".env.example", () => {
  const example = Object.fromEntries(
    [...read(".env.example").matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map(([, name, value]) => [
      name!,
      value!,
    ]),
  );

  it("lists every setting of the gateway and of the local AI Search", () => {
    const local = [...read("src/local/env.ts").matchAll(/^\s+(LOCAL_[A-Z_]+):/gm)].map(
      ([, name]) => name!,
    );
    expect(local.length).toBeGreaterThan(10);
    expect(Object.keys(example).sort()).toEqual([...new Set([...SETTING_NAMES, ...local])].sort());
  });

  it("gives each its default", () => {
    expect(loadConfig(example)).toEqual(loadConfig({}));
    expect(parseLocalEnv(example)).toEqual(parseLocalEnv({}));
  });
});
