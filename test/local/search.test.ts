import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalAiSearch } from "../../src/local/server.ts";
import type { Envelope, SearchResult } from "../../src/upstream/types.ts";
import { callJson, result, startSmallLocal } from "./helpers.ts";

let local: LocalAiSearch;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ local, stop } = await startSmallLocal());
});
afterAll(() => stop());

const ALPHA = "/namespaces/default/instances/alpha/search";
const NAMESPACE = "/namespaces/default/search";

function searchAlpha(query: string, retrieval: Record<string, unknown> = {}) {
  return result<SearchResult>(local.baseUrl, ALPHA, {
    body: { query, ai_search_options: { retrieval } },
  });
}

function searchNamespace(
  query: string,
  instance_ids: string[],
  retrieval: Record<string, unknown> = {},
) {
  return result<SearchResult>(local.baseUrl, NAMESPACE, {
    body: { query, ai_search_options: { instance_ids, retrieval } },
  });
}

const keys = (r: SearchResult) => r.chunks.map((c) => c.item?.key);

async function expect400(path: string, body: unknown, message: RegExp) {
  const { status, body: envelope } = await callJson<Envelope<null>>(local.baseUrl, path, { body });
  expect(status).toBe(400);
  expect(envelope.success).toBe(false);
  expect(envelope.errors[0]!.message).toMatch(message);
}

describe("instance search", () => {
  it("returns BM25-ranked chunks with item details and honest scoring details", async () => {
    const found = await searchAlpha("apples");
    expect(found.search_query).toBe("apples");
    expect(found.query_kind).toBe("text");
    expect(found.errors).toBeUndefined();
    expect(keys(found)).toEqual(["apples.md", "guides/pears.md"]);
    const [top, second] = found.chunks;
    expect(top).toMatchObject({
      instance_id: "alpha",
      type: "text",
      item: { key: "apples.md", metadata: { title: "Apples", audience: "cooks" } },
    });
    expect(top!.text).toContain("Apples grow on trees");
    expect(top!.item!.timestamp).toBeTypeOf("number");
    expect(top!.scoring_details).toMatchObject({ fusion_method: "rrf", keyword_rank: 1 });
    expect(second!.scoring_details!.keyword_rank).toBe(2);
    expect(top!.scoring_details!.keyword_score!).toBeGreaterThan(
      second!.scoring_details!.keyword_score!,
    );
    for (const chunk of found.chunks) {
      expect(chunk.scoring_details!.keyword_score).toBeGreaterThan(0);
      expect(chunk.scoring_details!.keyword_score).toBeLessThan(1);
      expect(chunk.scoring_details!.vector_score).toBeUndefined();
    }
    // rrf over one list: score = 61 / (60 + rank), so the best match scores exactly 1.
    expect(found.chunks.map((c) => c.score)).toEqual([1, 61 / 62]);
  });

  it("scores by normalised relevance under max fusion", async () => {
    const found = await searchAlpha("apples", { fusion_method: "max" });
    for (const chunk of found.chunks) {
      expect(chunk.score).toBe(chunk.scoring_details!.keyword_score);
      expect(chunk.scoring_details!.fusion_method).toBe("max");
    }
  });

  it("uses the last user message as the query", async () => {
    const found = await result<SearchResult>(local.baseUrl, ALPHA, {
      body: {
        messages: [
          { role: "user", content: "bananas" },
          { role: "assistant", content: "apples" },
          {
            role: "user",
            content: [
              { type: "text", text: "Tell me about" },
              { type: "image_url", image_url: { url: "x" } },
              { type: "text", text: "bananas" },
            ],
          },
        ],
      },
    });
    expect(found.search_query).toBe("Tell me about\nbananas");
    expect(keys(found)).toEqual(["notes.txt"]);
  });

  it("matches all terms in and mode and any term in or mode", async () => {
    expect(keys(await searchAlpha("apples pears", { keyword_match_mode: "and" }))).toEqual([
      "guides/pears.md",
    ]);
    expect(keys(await searchAlpha("apples pears", { keyword_match_mode: "or" })).sort()).toEqual([
      "apples.md",
      "guides/pears.md",
    ]);
    expect(keys(await searchAlpha("apples bananas", { keyword_match_mode: "and" }))).toEqual([]);
    // Default is "or", and stop words are not required to match.
    expect(keys(await searchAlpha("what are the bananas", { keyword_match_mode: "and" }))).toEqual([
      "notes.txt",
    ]);
  });

  it("finds plurals through the light stemmer and ignores stop-word-only queries", async () => {
    expect(keys(await searchAlpha("banana"))).toEqual(["notes.txt"]);
    expect((await searchAlpha("what is the")).chunks).toEqual([]);
  });

  it("applies match_threshold to the normalised keyword score", async () => {
    const all = await searchAlpha("apples orchards sweet");
    expect(all.chunks.length).toBeGreaterThanOrEqual(2);
    const relevance = all.chunks.map((c) => c.scoring_details!.keyword_score!);
    const cut = (Math.max(...relevance) + Math.min(...relevance)) / 2;
    const kept = await searchAlpha("apples orchards sweet", { match_threshold: cut });
    expect(kept.chunks.map((c) => c.id)).toEqual(
      all.chunks.filter((c) => c.scoring_details!.keyword_score! >= cut).map((c) => c.id),
    );
    expect(kept.chunks.length).toBeLessThan(all.chunks.length);
    expect((await searchAlpha("apples orchards sweet", { match_threshold: 1 })).chunks).toEqual([]);
  });

  it("filters on item metadata", async () => {
    expect(keys(await searchAlpha("apples", { filters: { audience: "cooks" } }))).toEqual([
      "apples.md",
    ]);
    expect(keys(await searchAlpha("apples", { filters: { folder: { $eq: "guides/" } } }))).toEqual([
      "guides/pears.md",
    ]);
    expect(keys(await searchAlpha("apples", { filters: { level: { $gte: 2 } } }))).toEqual([
      "guides/pears.md",
    ]);
    expect(
      keys(await searchAlpha("apples", { filters: { audience: { $in: ["nobody"] } } })),
    ).toEqual([]);
    expect(
      keys(
        await searchAlpha("apples", { filters: { type: "eq", key: "audience", value: "growers" } }),
      ),
    ).toEqual(["guides/pears.md"]);
  });

  it("limits results with max_num_results", async () => {
    expect(keys(await searchAlpha("apples", { max_num_results: 1 }))).toEqual(["apples.md"]);
  });

  it("reorders by boost_by without changing keyword scores", async () => {
    const plain = await searchAlpha("orchards");
    expect(keys(plain)).toEqual(["guides/pears.md", "apples.md"]);
    const boosted = await searchAlpha("orchards", {
      boost_by: [{ field: "level", direction: "asc" }],
    });
    expect(keys(boosted)).toEqual(["apples.md", "guides/pears.md"]);
    const plainScore = plain.chunks.find((c) => c.item?.key === "apples.md")!.scoring_details!
      .keyword_score;
    expect(boosted.chunks[0]!.scoring_details!.keyword_score).toBe(plainScore);
    expect(boosted.chunks[0]!.scoring_details!.keyword_rank).toBe(1);
  });

  it("expands context with neighbouring chunks, without repeating overlaps", async () => {
    const path = "/namespaces/other/instances/sequence/search";
    const plain = await result<SearchResult>(local.baseUrl, path, { body: { query: "n12" } });
    expect(plain.chunks.map((c) => c.text)).toEqual(["n8 n9 n10 n11 n12 n13 n14 n15 n16 n17"]);
    const expanded = await result<SearchResult>(local.baseUrl, path, {
      body: { query: "n12", ai_search_options: { retrieval: { context_expansion: 1 } } },
    });
    expect(expanded.chunks[0]!.text).toBe(Array.from({ length: 26 }, (_, i) => `n${i}`).join(" "));
  });

  it("refuses vector and hybrid retrieval without an embeddings endpoint", async () => {
    for (const retrieval_type of ["vector", "hybrid"]) {
      await expect400(
        ALPHA,
        { query: "apples", ai_search_options: { retrieval: { retrieval_type } } },
        /embeddings/,
      );
    }
  });
});

describe("namespace search", () => {
  it("merges instances with reciprocal rank fusion, interleaving by rank", async () => {
    const merged = await searchNamespace("apples orchards", ["alpha", "beta"]);
    const alpha = await searchAlpha("apples orchards");
    const beta = await result<SearchResult>(
      local.baseUrl,
      "/namespaces/default/instances/beta/search",
      { body: { query: "apples orchards" } },
    );
    expect(merged.chunks).toHaveLength(alpha.chunks.length + beta.chunks.length);
    const ranks = merged.chunks.map((c) => c.scoring_details!.keyword_rank);
    expect(ranks).toEqual([...ranks].sort((a, b) => a! - b!));
    const scores = merged.chunks.map((c) => c.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(merged.chunks.map((c) => c.score)).toEqual(ranks.map((r) => 61 / (60 + r!)));
    expect(new Set(merged.chunks.slice(0, 2).map((c) => c.instance_id))).toEqual(
      new Set(["alpha", "beta"]),
    );
    // Fusion across instances keeps every chunk's per-instance rank, details and rrf score.
    for (const chunk of [...alpha.chunks, ...beta.chunks]) {
      const inMerged = merged.chunks.find((c) => c.id === chunk.id)!;
      expect(inMerged.score).toBe(chunk.score);
      expect(inMerged.scoring_details).toEqual(chunk.scoring_details);
    }
  });

  it("sorts by score with max fusion", async () => {
    const merged = await searchNamespace("apples orchards", ["alpha", "beta"], {
      fusion_method: "max",
    });
    const scores = merged.chunks.map((c) => c.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(merged.chunks.every((c) => c.scoring_details!.fusion_method === "max")).toBe(true);
  });

  it("reports unknown instances in errors while the others answer", async () => {
    const found = await searchNamespace("apples", ["nope", "alpha", "alpha", "Bad Id"]);
    expect(found.errors).toEqual([
      { instance_id: "nope", message: 'instance "nope" not found in namespace "default"' },
      { instance_id: "Bad Id", message: 'instance "Bad Id" not found in namespace "default"' },
    ]);
    expect(new Set(found.chunks.map((c) => c.instance_id))).toEqual(new Set(["alpha"]));
    expect(keys(found)).toEqual(["apples.md", "guides/pears.md"]);
  });

  it("answers 200 with only errors when every instance is unknown", async () => {
    const found = await searchNamespace("apples", ["x", "y"]);
    expect(found.chunks).toEqual([]);
    expect(found.errors?.map((e) => e.instance_id)).toEqual(["x", "y"]);
  });

  it("does not search instances of other namespaces", async () => {
    const found = await searchNamespace("carrots", ["veg"]);
    expect(found.chunks).toEqual([]);
    expect(found.errors?.[0]?.instance_id).toBe("veg");
  });

  it("404s an unknown namespace before looking at the body", async () => {
    const { status } = await callJson(local.baseUrl, "/namespaces/nope/search", {
      body: "{broken",
    });
    expect(status).toBe(404);
  });
});

describe("search validation", () => {
  it.each([
    [
      ALPHA,
      { query: "a", messages: [{ role: "user", content: "a" }] },
      /either query or messages, not both/,
    ],
    [ALPHA, {}, /provide query or messages/],
    [ALPHA, { query: "" }, /query must not be empty/],
    [ALPHA, { query: 5 }, /query/],
    [
      ALPHA,
      { query: "a", ai_search_options: { instance_ids: ["alpha"] } },
      /only accepted on the namespace endpoints/,
    ],
    [
      ALPHA,
      { query: "a", ai_search_options: { retrieval: { keyword_match_mode: "xor" } } },
      /keyword_match_mode.*"and"\|"or"/,
    ],
    [
      ALPHA,
      { query: "a", ai_search_options: { retrieval: { fusion_method: "sum" } } },
      /fusion_method/,
    ],
    [
      ALPHA,
      { query: "a", ai_search_options: { retrieval: { max_num_results: 51 } } },
      /max_num_results/,
    ],
    [
      ALPHA,
      { query: "a", ai_search_options: { retrieval: { match_threshold: 2 } } },
      /match_threshold/,
    ],
    [
      ALPHA,
      { query: "a", ai_search_options: { retrieval: { filters: { level: { $regex: "x" } } } } },
      /filters\.level: unknown operator/,
    ],
    [ALPHA, { messages: [{ role: "system", content: "only system" }] }, /user message with text/],
    [ALPHA, { messages: [{ role: "robot", content: "x" }] }, /messages\.0\.role/],
    [NAMESPACE, { query: "a" }, /instance_ids is required/],
    [NAMESPACE, { query: "a", ai_search_options: { instance_ids: [] } }, /at least one instance/],
    [
      NAMESPACE,
      { query: "a", ai_search_options: { instance_ids: "alpha" } },
      /array of instance ids/,
    ],
  ])("%s %j → 400", async (path, body, message) => {
    await expect400(path, body, message);
  });

  it("points at the offending field", async () => {
    const { body } = await callJson<Envelope<null>>(local.baseUrl, ALPHA, {
      body: { query: "a", ai_search_options: { retrieval: { retrieval_type: "semantic" } } },
    });
    expect(body.errors[0]!.source).toEqual({
      pointer: "/ai_search_options/retrieval/retrieval_type",
    });
  });

  it("tolerates unknown keys, as the SDK forwards extra fields", async () => {
    const found = await searchAlpha("apples", { future_option: true });
    expect(found.chunks.length).toBeGreaterThan(0);
  });
});
