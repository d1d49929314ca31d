import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AiSearchClient } from "../../src/upstream/client.ts";
import { InvalidArgumentError, InvalidNameError } from "../../src/upstream/errors.ts";
import {
  assertAccountId,
  assertInstanceId,
  assertNamespaceName,
  MAX_PER_PAGE,
} from "../../src/upstream/names.ts";
import { envelope, type Stub, sendJson, startStub } from "./stub-server.ts";

/** Names that must never reach an upstream URL (or body), with why each is hostile. */
const HOSTILE: [label: string, value: unknown][] = [
  ["empty", ""],
  ["space", " "],
  ["dot", "."],
  ["dot-dot", ".."],
  ["traversal", "../x"],
  ["deep traversal", "../../accounts/other"],
  ["slash", "a/b"],
  ["backslash", "a\\b"],
  ["encoded dot-dot", "%2e%2e"],
  ["encoded slash", "a%2Fb"],
  ["uppercase", "A"],
  ["mixed case", "Default"],
  ["inner space", "a b"],
  ["newline", "\n"],
  ["trailing newline", "a\n"],
  ["header injection", "a\r\nx-evil: 1"],
  ["NUL", "a\u0000"],
  ["query", "?x=1"],
  ["inner query", "a?x=1"],
  ["hash", "#"],
  ["inner hash", "a#b"],
  ["leading dash", "-a"],
  ["leading underscore", "_a"],
  ["65 chars", "a".repeat(65)],
  ["cyrillic lookalike", "d\u0435fault"],
  ["fullwidth", "\uff44\uff45\uff46\uff41\uff55\uff4c\uff54"],
  ["zero-width space", "default\u200b"],
  ["dotted capital I", "\u0130"],
  ["colon", "a:b"],
  ["semicolon", "a;b"],
  ["percent", "a%"],
  ["dot inside", "a.b"],
  ["number", 42],
  ["null", null],
  ["undefined", undefined],
  ["array", ["default"]],
  ["object with toString", { toString: () => "default" }],
];

describe("name rules", () => {
  it("accepts slugs up to 64 characters", () => {
    for (const name of ["a", "0", "default", "my-ns_2", "a".repeat(64), "9-_"]) {
      expect(() => assertNamespaceName(name)).not.toThrow();
      expect(() => assertInstanceId(name)).not.toThrow();
    }
  });

  it.each(HOSTILE)("rejects %s", (_label, value) => {
    expect(() => assertNamespaceName(value)).toThrow(InvalidNameError);
    expect(() => assertInstanceId(value)).toThrow(InvalidNameError);
  });

  it("accepts account ids and rejects anything path-like", () => {
    expect(() => assertAccountId("c3dc5f0b34a14ff8e1b3ec04895e1b22")).not.toThrow();
    expect(() => assertAccountId("Local_Test-1")).not.toThrow();
    for (const bad of ["", "a/b", "..", "a b", "a\n", "x".repeat(65), "é", "a?b", 7]) {
      expect(() => assertAccountId(bad)).toThrow(InvalidNameError);
    }
  });
});

describe("no request leaves the client for a hostile name", () => {
  let stub: Stub;
  let client: AiSearchClient;
  beforeAll(async () => {
    stub = await startStub((req, res) => {
      const isList = /\/namespaces(\?|$)/.test(req.url);
      sendJson(res, 200, envelope(isList ? [] : { name: "default" }));
    });
    client = new AiSearchClient({
      baseUrl: stub.baseUrl,
      accountId: "acct",
      credentials: { kind: "token", token: "t" },
      retry: { maxRetries: 0 },
    });
  });
  afterAll(async () => {
    await client.close();
    await stub.close();
  });

  const messages = [{ role: "user" as const, content: "hi" }];
  const calls = (name: string): [string, () => Promise<unknown>][] => [
    ["getNamespace", () => client.getNamespace(name)],
    ["listInstances", () => client.listInstances(name)],
    ["getInstance(ns)", () => client.getInstance(name, "docs")],
    ["getInstance(id)", () => client.getInstance("default", name)],
    ["getInstanceStats(id)", () => client.getInstanceStats("default", name)],
    ["searchNamespace", () => client.searchNamespace(name, { query: "q" })],
    [
      "searchNamespace(instance_ids)",
      () =>
        client.searchNamespace("default", {
          query: "q",
          ai_search_options: { instance_ids: ["docs", name] },
        }),
    ],
    ["searchInstance(id)", () => client.searchInstance("default", name, { query: "q" })],
    ["chatCompletions", () => client.chatCompletions(name, { messages })],
    [
      "chatCompletions(instance_ids)",
      () =>
        client.chatCompletions("default", {
          messages,
          ai_search_options: { instance_ids: [name] },
        }),
    ],
    [
      "instanceChatCompletions(id)",
      () => client.instanceChatCompletions("default", name, { messages }),
    ],
    ["streamChatCompletions", () => client.streamChatCompletions(name, { messages })],
    [
      "streamInstanceChatCompletions(ns)",
      () => client.streamInstanceChatCompletions(name, "docs", { messages }),
    ],
  ];

  it("a valid name does reach the server (the counter works)", async () => {
    const before = stub.requests.length;
    await client.getNamespace("default");
    expect(stub.requests.length).toBe(before + 1);
    expect(stub.requests.at(-1)?.url).toBe("/client/v4/accounts/acct/ai-search/namespaces/default");
  });

  it.each(HOSTILE)(
    "%s: every call rejects with InvalidNameError and sends nothing",
    async (_l, value) => {
      const before = stub.requests.length;
      for (const [label, call] of calls(value as string)) {
        await expect(call(), label).rejects.toBeInstanceOf(InvalidNameError);
      }
      expect(stub.requests.length).toBe(before);
    },
  );

  it("a hostile account id fails at construction", () => {
    for (const accountId of ["../other", "a/b", "", "a\r\n"]) {
      expect(() => new AiSearchClient({ baseUrl: stub.baseUrl, accountId })).toThrow(
        InvalidNameError,
      );
    }
  });

  it("rejects bad paging and listing arguments before sending", async () => {
    const before = stub.requests.length;
    const bad: [string, () => Promise<unknown>][] = [
      ["page 0", () => client.listNamespaces({ page: 0 })],
      ["page -1", () => client.listNamespaces({ page: -1 })],
      ["page 1.5", () => client.listNamespaces({ page: 1.5 })],
      ["page NaN", () => client.listNamespaces({ page: Number.NaN })],
      ["page string", () => client.listNamespaces({ page: "2" as unknown as number })],
      ["perPage 0", () => client.listInstances("default", { perPage: 0 })],
      ["perPage over cap", () => client.listInstances("default", { perPage: MAX_PER_PAGE + 1 })],
      ["perPage Infinity", () => client.listInstances("default", { perPage: Infinity })],
      ["search too long", () => client.listNamespaces({ search: "x".repeat(257) })],
      [
        "orderBy",
        () => client.listInstances("default", { orderBy: "name" as unknown as "created_at" }),
      ],
      [
        "direction",
        () =>
          client.listInstances("default", {
            orderByDirection: "up" as unknown as "asc",
          }),
      ],
      [
        "requestId with CRLF",
        () => client.withCall({ requestId: "a\r\nb: c" }).getNamespace("default"),
      ],
    ];
    for (const [label, call] of bad) {
      await expect(call(), label).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(stub.requests.length).toBe(before);
  });

  it("percent-encodes a search string instead of letting it shape the query", async () => {
    await client.listNamespaces({ search: "a&per_page=1000#x y" });
    const url = new URL(stub.requests.at(-1)!.url, "http://x");
    expect([...url.searchParams]).toEqual([["search", "a&per_page=1000#x y"]]);
  });
});
