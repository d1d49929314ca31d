/**
 * Acceptance: the official Cloudflare TypeScript SDK, pointed at the local server, works
 * unmodified against the shipped default corpus.
 */

import Cloudflare from "cloudflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";

const account_id = "c3dc5f0b34a14ff8e1b3ec04895e1b22";
let local: LocalAiSearch;
let client: Cloudflare;

beforeAll(async () => {
  local = await startLocalAiSearch({ apiToken: "sdk-token" });
  client = new Cloudflare({ apiToken: "sdk-token", baseURL: local.baseUrl, maxRetries: 0 });
});
afterAll(async () => {
  await local?.close();
});

describe("Cloudflare SDK against the local AI Search", () => {
  it("lists namespaces, following pagination", async () => {
    const names: string[] = [];
    for await (const namespace of client.aiSearch.namespaces.list({ account_id, per_page: 1 })) {
      names.push(namespace.name);
    }
    expect(names).toEqual(["default", "handbook"]);
    const pages = local.requests.filter((r) => r.path.endsWith("/ai-search/namespaces"));
    expect(pages.map((r) => new URLSearchParams(r.query).get("page") ?? "1")).toEqual([
      "1",
      "2",
      "3",
    ]);
  });

  it("reads a namespace", async () => {
    const namespace = await client.aiSearch.namespaces.read("handbook", { account_id });
    expect(namespace.name).toBe("handbook");
    expect(namespace.description).toMatch(/handbook/i);
  });

  it("lists and reads instances and their stats", async () => {
    const ids: string[] = [];
    for await (const instance of client.aiSearch.namespaces.instances.list("default", {
      account_id,
      order_by: "created_at",
      order_by_direction: "asc",
    })) {
      ids.push(instance.id);
    }
    expect(ids).toEqual(["gateway-docs", "ai-search-concepts", "frontend-recipes"]);

    const instance = await client.aiSearch.namespaces.instances.read("gateway-docs", {
      account_id,
      name: "default",
    });
    expect(instance).toMatchObject({
      id: "gateway-docs",
      namespace: "default",
      chunk_size: 120,
      chunk_overlap: 20,
    });

    const stats = await client.aiSearch.namespaces.instances.stats("gateway-docs", {
      account_id,
      name: "default",
    });
    expect(stats.completed).toBe(6);
    expect(stats.engine?.r2?.objectCount).toBe(6);
  });

  it("searches several instances of a namespace", async () => {
    const found = await client.aiSearch.namespaces.search("default", {
      account_id,
      query: "reciprocal rank fusion",
      ai_search_options: { instance_ids: ["ai-search-concepts", "gateway-docs", "missing"] },
    });
    expect(found.query_kind).toBe("text");
    expect(found.chunks[0]?.item?.key).toBe("fusion-and-reranking.md");
    expect(found.chunks[0]?.scoring_details).toMatchObject({
      fusion_method: "rrf",
      keyword_rank: 1,
    });
    expect(found.errors?.map((e) => e.instance_id)).toEqual(["missing"]);
  });

  it("searches one instance with messages", async () => {
    const found = await client.aiSearch.namespaces.instances.search("frontend-recipes", {
      account_id,
      name: "default",
      messages: [{ role: "user", content: "Apollo pagination with fetchMore" }],
    });
    expect(found.chunks[0]?.item?.key).toBe("apollo-client.md");
  });

  it("asks the namespace chat completions endpoint", async () => {
    const response = await client.aiSearch.namespaces.chatCompletions("default", {
      account_id,
      messages: [{ role: "user", content: "What does chunk overlap do?" }],
      ai_search_options: { instance_ids: ["ai-search-concepts", "gateway-docs"] },
    });
    expect(response.model).toBe("local/extractive");
    expect(response.choices[0]?.message.role).toBe("assistant");
    expect(response.choices[0]?.message.content).toContain("[chunking.md]");
    expect(response.chunks[0]?.item?.key).toBe("chunking.md");
  });

  it("surfaces authentication failures as the SDK's typed error", async () => {
    const stranger = new Cloudflare({ apiToken: "wrong", baseURL: local.baseUrl, maxRetries: 0 });
    await expect(
      stranger.aiSearch.namespaces.read("default", { account_id }),
    ).rejects.toBeInstanceOf(Cloudflare.AuthenticationError);
  });
});
