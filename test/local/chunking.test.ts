import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkText } from "../../src/local/chunking.ts";

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");

describe("chunkText", () => {
  it("returns no chunks for an empty or blank document", () => {
    expect(chunkText("", { chunkSize: 10, chunkOverlap: 2 })).toEqual([]);
    expect(chunkText(" \n\t ", { chunkSize: 10, chunkOverlap: 2 })).toEqual([]);
  });

  it("keeps a short document in one chunk with its offsets", () => {
    const body = "\n# Title\n\nShort body.\n";
    const [only, ...rest] = chunkText(body, { chunkSize: 10, chunkOverlap: 2 });
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ index: 0, text: "# Title\n\nShort body.", wordCount: 4 });
    expect(body.slice(only!.startChar, only!.endChar)).toBe(only!.text);
  });

  it("slides a window of chunk_size words forward by chunk_size - chunk_overlap", () => {
    const chunks = chunkText(words(10), { chunkSize: 4, chunkOverlap: 1 });
    expect(chunks.map((c) => c.text)).toEqual(["w0 w1 w2 w3", "w3 w4 w5 w6", "w6 w7 w8 w9"]);
  });

  it("stops at the first window that reaches the end instead of emitting a redundant tail", () => {
    const chunks = chunkText(words(5), { chunkSize: 4, chunkOverlap: 2 });
    expect(chunks.map((c) => c.text)).toEqual(["w0 w1 w2 w3", "w2 w3 w4"]);
  });

  it("preserves line breaks and markdown inside a chunk", () => {
    const [chunk] = chunkText("- one\n- two\n\n**three**", { chunkSize: 10, chunkOverlap: 0 });
    expect(chunk!.text).toBe("- one\n- two\n\n**three**");
  });

  it("rejects settings that cannot make progress", () => {
    expect(() => chunkText("a b", { chunkSize: 0, chunkOverlap: 0 })).toThrow(/chunk_size/);
    expect(() => chunkText("a b", { chunkSize: 4, chunkOverlap: 4 })).toThrow(/chunk_overlap/);
    expect(() => chunkText("a b", { chunkSize: 4, chunkOverlap: -1 })).toThrow(/chunk_overlap/);
  });

  it("covers every word, in order, with exactly the configured overlap (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z]{1,6}$/), { maxLength: 80 }),
        fc.array(fc.constantFrom(" ", "\n", "  ", "\n\n", "\t"), { minLength: 81, maxLength: 81 }),
        fc.integer({ min: 1, max: 12 }),
        fc.nat(11),
        (tokens, gaps, size, overlapSeed) => {
          const overlap = overlapSeed % size;
          const body = tokens.map((t, i) => gaps[i] + t).join("") + gaps[80];
          const chunks = chunkText(body, { chunkSize: size, chunkOverlap: overlap });
          const chunkWords = chunks.map((c) => c.text.split(/\s+/));
          for (const c of chunks) expect(body.slice(c.startChar, c.endChar)).toBe(c.text);
          for (const w of chunkWords) expect(w.length).toBeLessThanOrEqual(size);
          // Dropping each chunk's overlap with its predecessor rebuilds the word sequence.
          const rebuilt = chunkWords.flatMap((w, i) => (i === 0 ? w : w.slice(overlap)));
          expect(rebuilt).toEqual(tokens);
        },
      ),
      { numRuns: 200 },
    );
  });
});
