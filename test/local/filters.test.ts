import { describe, expect, it } from "vitest";
import type { CorpusChunk, CorpusDocument } from "../../src/local/corpus.ts";
import { compileFilter, FilterError } from "../../src/local/filters.ts";

function chunk(key: string, metadata: CorpusDocument["metadata"], timestamp = 1000): CorpusChunk {
  const document: CorpusDocument = {
    key,
    body: "",
    bodyOffsetBytes: 0,
    sizeBytes: 0,
    timestamp,
    metadata,
    chunks: [],
  };
  return {
    id: key,
    instanceId: "i",
    document,
    index: 0,
    text: "",
    startChar: 0,
    endChar: 0,
    wordCount: 0,
  };
}

const a = chunk("a.md", { folder: "", level: 1, audience: "cooks", draft: true }, 100);
const b = chunk("guides/b.md", { folder: "guides/", level: 3, audience: "growers" }, 200);
const c = chunk("guides/c.txt", { folder: "guides/", level: 5 }, 300);
const all = [a, b, c];

function keys(filter: unknown): string[] {
  const accept = compileFilter(filter);
  return all.filter(accept).map((x) => x.document.key);
}

describe("compileFilter", () => {
  it("treats plain values as equality", () => {
    expect(keys({ folder: "guides/" })).toEqual(["guides/b.md", "guides/c.txt"]);
    expect(keys({ folder: "guides/", level: 3 })).toEqual(["guides/b.md"]);
    expect(keys({ draft: true })).toEqual(["a.md"]);
  });

  it("supports comparison operators", () => {
    expect(keys({ level: { $eq: 1 } })).toEqual(["a.md"]);
    expect(keys({ audience: { $ne: "cooks" } })).toEqual(["guides/b.md", "guides/c.txt"]);
    expect(keys({ level: { $gt: 1, $lte: 5 } })).toEqual(["guides/b.md", "guides/c.txt"]);
    expect(keys({ level: { $gte: 3, $lt: 5 } })).toEqual(["guides/b.md"]);
    expect(keys({ audience: { $in: ["cooks", "growers"] } })).toEqual(["a.md", "guides/b.md"]);
    expect(keys({ audience: { $nin: ["cooks"] } })).toEqual(["guides/b.md", "guides/c.txt"]);
  });

  it("never orders values of different kinds", () => {
    expect(keys({ level: { $gt: "0" } })).toEqual([]);
  });

  it("resolves timestamp and key as item fields", () => {
    expect(keys({ timestamp: { $gte: 200 } })).toEqual(["guides/b.md", "guides/c.txt"]);
    expect(keys({ key: "a.md" })).toEqual(["a.md"]);
  });

  it("combines with $and / $or", () => {
    expect(keys({ $or: [{ level: 1 }, { level: 5 }] })).toEqual(["a.md", "guides/c.txt"]);
    expect(keys({ $and: [{ folder: "guides/" }, { level: { $gt: 3 } }] })).toEqual([
      "guides/c.txt",
    ]);
  });

  it("understands the AutoRAG compound spelling", () => {
    expect(keys({ type: "eq", key: "folder", value: "guides/" })).toEqual([
      "guides/b.md",
      "guides/c.txt",
    ]);
    expect(
      keys({
        type: "or",
        filters: [
          { type: "lt", key: "level", value: 2 },
          { type: "gte", key: "timestamp", value: 300 },
        ],
      }),
    ).toEqual(["a.md", "guides/c.txt"]);
  });

  it.each([
    [[], /must be an object/],
    [{ level: { $regex: "x" } }, /unknown operator "\$regex"/],
    [{ $nor: [] }, /unknown operator "\$nor"/],
    [{ level: { $in: [] } }, /non-empty array/],
    [{ level: { $in: "x" } }, /non-empty array/],
    [{ level: { a: 1 } }, /unknown operator "a"/],
    [{ level: {} }, /at least one operator/],
    [{ level: { $gt: true } }, /number or string/],
    [{ level: [1, 2] }, /string, number or boolean/],
    [{ $or: {} }, /non-empty array/],
    [{ type: "like", key: "a", value: 1 }, /type must be one of/],
  ])("rejects %j", (filter, message) => {
    expect(() => compileFilter(filter)).toThrow(FilterError);
    expect(() => compileFilter(filter)).toThrow(message);
  });

  it("compares strings on their first 64 UTF-8 bytes, as upstream does", () => {
    const long = (tail: string) => `${"é".repeat(31)}ab${tail}`; // 62 + 2 bytes, then the tail
    const titled = [
      chunk("x.md", { title: long("-first") }),
      chunk("y.md", { title: long("-second") }),
      chunk("z.md", { title: "short" }),
    ];
    const matching = (filter: unknown) =>
      titled.filter(compileFilter(filter)).map((x) => x.document.key);
    expect(matching({ title: long("") })).toEqual(["x.md", "y.md"]);
    expect(matching({ title: { $eq: long("-anything") } })).toEqual(["x.md", "y.md"]);
    expect(matching({ title: { $in: [long("!"), "short"] } })).toEqual(["x.md", "y.md", "z.md"]);
    expect(matching({ title: { $ne: "short" } })).toEqual(["x.md", "y.md"]);
  });
});
