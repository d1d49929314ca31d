import { existsSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  DEFAULT_CREATED_AT,
  DEFAULT_INSTANCE_SETTINGS,
  defaultCorpusDir,
  loadCorpus,
  splitFrontMatter,
} from "../../src/local/corpus.ts";
import { removeDir, SMALL_CORPUS, tempCorpus } from "./helpers.ts";

let dir: string | undefined;
afterEach(async () => {
  await removeDir(dir);
  dir = undefined;
});

async function load(files: Record<string, string>) {
  dir = await tempCorpus(files);
  const warnings: string[] = [];
  const corpus = await loadCorpus(dir, { onWarning: (w) => warnings.push(w) });
  return { corpus, warnings };
}

describe("loadCorpus", () => {
  it("reads namespaces, instances, settings and documents", async () => {
    const { corpus, warnings } = await load(SMALL_CORPUS);
    expect(warnings).toEqual([]);
    expect([...corpus.namespaces.keys()]).toEqual(["default", "other"]);
    const ns = corpus.namespaces.get("default")!;
    expect(ns.description).toBe("Small test namespace");
    expect(ns.createdAt).toBe("2026-01-01T00:00:00.000Z");
    expect([...ns.instances.keys()]).toEqual(["alpha", "beta", "gamma"]);

    const alpha = ns.instances.get("alpha")!;
    expect(alpha.settings).toMatchObject({
      chunkSize: 40,
      chunkOverlap: 5,
      createdAt: "2026-01-02T00:00:00.000Z",
    });
    expect(alpha.documents.map((d) => d.key)).toEqual([
      "apples.md",
      "guides/pears.md",
      "notes.txt",
    ]);
    expect(alpha.skippedFiles).toBe(1); // image.png
    expect(alpha.lastActivityMs).toBeGreaterThan(0);
  });

  it("derives item metadata from the path, the first heading and front matter", async () => {
    const { corpus } = await load(SMALL_CORPUS);
    const alpha = corpus.namespaces.get("default")!.instances.get("alpha")!;
    const [apples, pears, notes] = alpha.documents;
    expect(apples!.metadata).toEqual({
      audience: "cooks",
      level: 1,
      folder: "",
      extension: "md",
      title: "Apples",
    });
    expect(pears!.metadata).toMatchObject({ folder: "guides/", title: "Pears", level: 3 });
    expect(notes!.metadata).toMatchObject({ extension: "txt", title: "notes" });
    expect(apples!.body.startsWith("# Apples")).toBe(true); // front matter is not indexed
    expect(Number.isInteger(apples!.timestamp)).toBe(true);
    expect(alpha.metadataFields).toContainEqual({ field_name: "level", data_type: "number" });
    expect(alpha.metadataFields).toContainEqual({ field_name: "audience", data_type: "text" });
  });

  it("chunks with the instance settings and gives chunks stable ids", async () => {
    const long = `# Long\n\n${Array.from({ length: 100 }, (_, i) => `word${i}`).join(" ")}`;
    const files = {
      "ns/inst/instance.json": JSON.stringify({ chunk_size: 30, chunk_overlap: 10 }),
      "ns/inst/long.md": long,
    };
    const first = await load(files);
    const chunks = first.corpus.namespaces.get("ns")!.instances.get("inst")!.chunks;
    expect(chunks.map((c) => c.wordCount)).toEqual([30, 30, 30, 30, 22]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(chunks.length);
    await removeDir(dir);
    const second = await load(files);
    expect(
      second.corpus.namespaces
        .get("ns")!
        .instances.get("inst")!
        .chunks.map((c) => c.id),
    ).toEqual(chunks.map((c) => c.id));
  });

  it("uses fixed defaults when there are no settings files", async () => {
    const { corpus } = await load({ "ns/inst/a.md": "hello there" });
    const ns = corpus.namespaces.get("ns")!;
    expect(ns.description).toBeNull();
    expect(ns.createdAt).toBe(DEFAULT_CREATED_AT);
    expect(ns.instances.get("inst")!.settings).toEqual(DEFAULT_INSTANCE_SETTINGS);
  });

  it("always exposes the reserved default namespace", async () => {
    const { corpus } = await load({ "ns/inst/a.md": "hello" });
    expect(corpus.namespaces.get("default")?.instances.size).toBe(0);
  });

  it("skips non-slug folders and bad settings files with a warning", async () => {
    const { corpus, warnings } = await load({
      "Bad Namespace/inst/a.md": "x",
      "ns/UPPER/a.md": "x",
      "ns/ok/a.md": "x",
      "ns/ok/instance.json": JSON.stringify({ chunk_size: 10, chunk_overlap: 10 }),
      "ns/typo/instance.json": JSON.stringify({ chunk_sise: 10 }),
      "ns/typo/a.md": "x",
      "ns/namespace.json": "{ not json",
      ".hidden/inst/a.md": "x",
    });
    expect([...corpus.namespaces.keys()].sort()).toEqual(["default", "ns"]);
    expect([...corpus.namespaces.get("ns")!.instances.keys()]).toEqual(["ok", "typo"]);
    expect(corpus.namespaces.get("ns")!.instances.get("ok")!.settings.chunkSize).toBe(256);
    expect(warnings).toHaveLength(5);
    expect(warnings.join("\n")).toMatch(/Bad Namespace/);
    expect(warnings.join("\n")).toMatch(/ns\/UPPER/);
    expect(warnings.join("\n")).toMatch(/chunk_overlap/);
    expect(warnings.join("\n")).toMatch(/typo.*instance\.json/);
    expect(warnings.join("\n")).toMatch(/namespace\.json: not valid JSON/);
  });

  it("fails clearly for a missing corpus directory", async () => {
    await expect(loadCorpus("/definitely/not/here")).rejects.toThrow(/does not exist/);
  });

  it("resolves the shipped default corpus from the module location", async () => {
    expect(defaultCorpusDir()).toBe(path.resolve(import.meta.dirname, "../../corpus"));
    expect(existsSync(path.join(defaultCorpusDir(), "default"))).toBe(true);
    const corpus = await loadCorpus(defaultCorpusDir(), { onWarning: (w) => expect.fail(w) });
    const instances = [...corpus.namespaces.values()].flatMap((ns) => [...ns.instances.values()]);
    const documents = instances.flatMap((i) => i.documents);
    expect(corpus.namespaces.size).toBeGreaterThanOrEqual(2);
    expect(documents.length).toBeGreaterThanOrEqual(12);
    expect(documents.length).toBeLessThanOrEqual(20);
  });
});

describe("splitFrontMatter", () => {
  it("parses scalars and strips the block", () => {
    const { frontMatter, body } = splitFrontMatter(
      '---\nn: 2\nf: 1.5\nb: false\ns: "quoted"\nplain: text here\n---\nBody',
    );
    expect(frontMatter).toEqual({ n: 2, f: 1.5, b: false, s: "quoted", plain: "text here" });
    expect(body).toBe("Body");
  });

  it("leaves documents without front matter untouched", () => {
    expect(splitFrontMatter("# Title\n---\nx")).toEqual({
      frontMatter: {},
      body: "# Title\n---\nx",
    });
  });
});
