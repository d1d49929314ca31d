/**
 * Typed metadata filters, `metadataOnly` and `contextExpansion`: what the gateway sends for them,
 * what it refuses before any upstream call, and that the local AI Search honours what it sends.
 */
import { describe, expect, it } from "vitest";
import { toWireFilters } from "../../src/schema/metadata-filters.ts";
import { aiSearchRequests } from "../helpers/gateway.ts";
import { useInProcessGateway } from "../helpers/in-process.ts";

const gateway = useInProcessGateway();

const upstreamCalls = () => aiSearchRequests(gateway.local);

interface SearchChunk {
  chunkId: string;
  text: string;
  item: { key: string; metadata: Record<string, unknown> | null } | null;
}

const SEARCH = /* GraphQL */ `
  query ($input: SearchInput!) {
    search(input: $input) { chunks { chunkId text item { key metadata } } }
  }
`;

const search = (query: string, retrieval: Record<string, unknown>) =>
  gateway.graphql<{ search: { chunks: SearchChunk[] } }>(SEARCH, {
    input: { instanceIds: ["gateway-docs", "frontend-recipes"], query, retrieval },
  });

describe("toWireFilters", () => {
  it("writes Cloudflare's operators, one object per field, several fields ANDed", () => {
    expect(
      toWireFilters([
        { field: "folder", eq: "guides/" },
        { field: "timestamp", gte: 1_735_689_600, lt: 1_767_225_600 },
        { field: "audience", in: ["frontend", "all"] },
        { field: "level", ne: 3 },
        { field: "draft", nin: [true] },
        { field: "level", lte: 2 },
      ]),
    ).toEqual({
      folder: { $eq: "guides/" },
      timestamp: { $gte: 1_735_689_600, $lt: 1_767_225_600 },
      audience: { $in: ["frontend", "all"] },
      level: { $ne: 3, $lte: 2 },
      draft: { $nin: [true] },
    });
  });

  it("sends nothing for no conditions", () => {
    expect(toWireFilters(undefined)).toBeUndefined();
    expect(toWireFilters([])).toBeUndefined();
  });

  it("keeps a field named __proto__ a field", () => {
    const wire = toWireFilters([{ field: "__proto__", eq: "x" }])!;
    expect(Object.keys(wire)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).$eq).toBeUndefined();
  });
});

describe("filters, checked before any upstream call", () => {
  it.each([
    [
      "no operator",
      [{ field: "folder" }],
      "retrieval.filters[0]",
      "needs an operator: eq, ne, in, nin, lt, lte, gt or gte",
    ],
    [
      "a field name that is none",
      [{ field: "$where", eq: 1 }],
      "retrieval.filters[0].field",
      "must be a metadata field name",
    ],
    [
      "a boolean bound",
      [{ field: "draft", gt: true }],
      "retrieval.filters[0].gt",
      "compares a number or a string, not a boolean",
    ],
    [
      "a string longer than Cloudflare compares",
      [{ field: "title", eq: "x".repeat(65) }],
      "retrieval.filters[0].eq",
      "holds more than 64 bytes",
    ],
    [
      "64 bytes counted as UTF-8",
      [{ field: "title", in: ["ok", "é".repeat(33)] }],
      "retrieval.filters[0].in",
      "holds more than 64 bytes",
    ],
    [
      "an operator given twice for one field",
      [
        { field: "level", gte: 1 },
        { field: "level", gte: 2 },
      ],
      "retrieval.filters[1].gte",
      "`level` already has `gte`",
    ],
    [
      "an empty list",
      [{ field: "audience", in: [] }],
      "retrieval.filters[0].in",
      "must hold 1 to 100 values",
    ],
    [
      "too many conditions",
      Array.from({ length: 21 }, (_, i) => ({ field: `f${i}`, eq: i })),
      "retrieval.filters",
      "at most 20 conditions",
    ],
  ])("refuses %s with BAD_USER_INPUT naming it", async (_what, filters, field, message) => {
    const { body } = await search("streams", { filters });
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([
      expect.objectContaining({
        message: expect.stringContaining(message),
        extensions: { code: "BAD_USER_INPUT", field },
      }),
    ]);
    expect(upstreamCalls()).toEqual([]);
  });

  it("refuses a value that is no string, number or boolean as invalid variables", async () => {
    const { status, body } = await search("streams", { filters: [{ field: "a", eq: { $gt: 1 } }] });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toContain(
      "A filter value is a string, a number or a boolean.",
    );
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(upstreamCalls()).toEqual([]);
  });

  it("refuses a value that is no string, number or boolean in the document", async () => {
    const { body } = await gateway.graphql(
      `{ search(input: { instanceIds: ["gateway-docs"], query: "x", retrieval: { filters: [{ field: "a", eq: [1] }] } }) { searchQuery } }`,
    );
    expect(body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(upstreamCalls()).toEqual([]);
  });
});

describe("the local AI Search honours what is sent", () => {
  it("filters by folder", async () => {
    const { body } = await search("authentication tokens", {
      filters: [{ field: "folder", eq: "guides/" }],
    });
    expect(body.errors).toBeUndefined();
    const keys = body.data!.search.chunks.map((c) => c.item!.key);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((key) => key.startsWith("guides/"))).toBe(true);
  });

  it("ANDs conditions on several fields, with ranges and lists", async () => {
    const unfiltered = await search("subscriptions caching authentication", {
      maxNumResults: 50,
    });
    const { body } = await search("subscriptions caching authentication", {
      maxNumResults: 50,
      filters: [
        { field: "level", gte: 2, lt: 3 },
        { field: "audience", in: ["frontend", "operators"] },
      ],
    });
    expect(body.errors).toBeUndefined();
    const metadata = body.data!.search.chunks.map((c) => c.item!.metadata!);
    expect(metadata.length).toBeGreaterThan(0);
    expect(metadata.length).toBeLessThan(unfiltered.body.data!.search.chunks.length);
    for (const m of metadata) {
      expect(m.level).toBe(2);
      expect(["frontend", "operators"]).toContain(m.audience);
    }
  });

  it("returns chunks without their text under metadataOnly", async () => {
    const { body } = await search("subscriptions", { metadataOnly: true });
    expect(body.errors).toBeUndefined();
    const chunks = body.data!.search.chunks;
    expect(chunks.length).toBeGreaterThan(0);
    for (const chunk of chunks) {
      expect(chunk.text).toBe("");
      expect(chunk.item!.key).toMatch(/\.md$/);
    }
  });

  it("answers metadataOnly completions from the text all the same", async () => {
    const { body } = await gateway.graphql<{
      chatCompletion: { content: string; chunks: { text: string }[] };
    }>(
      `mutation ($input: ChatCompletionInput!) { chatCompletion(input: $input) { content chunks { text } } }`,
      {
        input: {
          instanceIds: ["gateway-docs"],
          messages: [{ role: "USER", content: "How are subscriptions streamed?" }],
          retrieval: { metadataOnly: true },
        },
      },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.chatCompletion.content).toMatch(/\w{4}/);
    expect(body.data!.chatCompletion.chunks.every((c) => c.text === "")).toBe(true);
  });
});

describe("contextExpansion", () => {
  it("accepts Cloudflare's 0–3 and adds the neighbouring passages to the text", async () => {
    const plain = await search("subscriptions", { maxNumResults: 1, contextExpansion: 0 });
    const expanded = await search("subscriptions", { maxNumResults: 1, contextExpansion: 3 });
    expect(expanded.body.errors).toBeUndefined();
    const [before] = plain.body.data!.search.chunks;
    const [after] = expanded.body.data!.search.chunks;
    expect(after!.chunkId).toBe(before!.chunkId);
    expect(after!.text.length).toBeGreaterThan(before!.text.length);
    expect(after!.text).toContain(before!.text);
  });

  it("refuses 4 before any upstream call", async () => {
    const { body } = await search("subscriptions", { contextExpansion: 4 });
    expect(body.errors?.[0]).toMatchObject({
      message: "`retrieval.contextExpansion` must be between 0 and 3",
      extensions: { code: "BAD_USER_INPUT", field: "retrieval.contextExpansion" },
    });
    expect(upstreamCalls()).toEqual([]);
  });
});
