import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAiSearch, MAX_BODY_BYTES, startLocalAiSearch } from "../../src/local/server.ts";
import type { Envelope, Instance, InstanceStats, Namespace } from "../../src/upstream/types.ts";
import { call, callJson, result, SMALL_CORPUS, startSmallLocal } from "./helpers.ts";

let local: LocalAiSearch;
let dir: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ local, dir, stop } = await startSmallLocal());
});
afterAll(() => stop());

async function walk<T>(
  rest: string,
  perPage: number,
): Promise<{ items: T[]; pages: Envelope<T[]>[] }> {
  const items: T[] = [];
  const pages: Envelope<T[]>[] = [];
  for (let page = 1; ; page++) {
    const separator = rest.includes("?") ? "&" : "?";
    const { body } = await callJson<Envelope<T[]>>(
      local.baseUrl,
      `${rest}${separator}page=${page}&per_page=${perPage}`,
    );
    pages.push(body);
    if (body.result.length === 0) break;
    items.push(...body.result);
  }
  return { items, pages };
}

describe("namespaces", () => {
  it("lists namespaces in the v4 envelope, oldest first", async () => {
    const { status, body } = await callJson<Envelope<Namespace[]>>(local.baseUrl, "/namespaces");
    expect(status).toBe(200);
    expect(body).toMatchObject({ success: true, errors: [], messages: [] });
    expect(body.result.map((ns) => ns.name)).toEqual(["default", "other"]);
    expect(body.result[0]).toEqual({
      name: "default",
      created_at: "2026-01-01T00:00:00.000Z",
      description: "Small test namespace",
    });
    expect(body.result_info).toEqual({ page: 1, per_page: 20, count: 2, total_count: 2 });
  });

  it("walks every page with per_page=1 and ends on an empty page", async () => {
    const { items, pages } = await walk<Namespace>("/namespaces", 1);
    expect(items.map((ns) => ns.name)).toEqual(["default", "other"]);
    expect(pages.map((p) => p.result_info)).toEqual([
      { page: 1, per_page: 1, count: 1, total_count: 2 },
      { page: 2, per_page: 1, count: 1, total_count: 2 },
      { page: 3, per_page: 1, count: 0, total_count: 2 },
    ]);
  });

  it("searches names and descriptions case-insensitively", async () => {
    expect(
      (await result<Namespace[]>(local.baseUrl, "/namespaces?search=VEGETABLES")).map(
        (n) => n.name,
      ),
    ).toEqual(["other"]);
    expect(
      (await result<Namespace[]>(local.baseUrl, "/namespaces?search=DEF")).map((n) => n.name),
    ).toEqual(["default"]);
    expect(
      await result<Namespace[]>(local.baseUrl, "/namespaces?search=nothing-like-this"),
    ).toEqual([]);
  });

  it("reads one namespace and 404s an unknown one", async () => {
    expect(await result<Namespace>(local.baseUrl, "/namespaces/other")).toMatchObject({
      name: "other",
    });
    const { status, body } = await callJson<Envelope<null>>(local.baseUrl, "/namespaces/missing");
    expect(status).toBe(404);
    expect(body.success).toBe(false);
    expect(body.errors[0]!.message).toMatch(/namespace "missing" not found/);
  });

  it.each(["page=0", "per_page=101", "per_page=abc", "page=-1"])(
    "rejects %s with 400",
    async (query) => {
      const { status, body } = await callJson<Envelope<null>>(
        local.baseUrl,
        `/namespaces?${query}`,
      );
      expect(status).toBe(400);
      expect(body.errors[0]!.message).toMatch(/page/);
    },
  );
});

describe("instances", () => {
  it("lists instances with the main Instance fields", async () => {
    const instances = await result<Instance[]>(local.baseUrl, "/namespaces/default/instances");
    expect(instances.map((i) => i.id)).toEqual(["alpha", "beta", "gamma"]);
    expect(instances[0]).toMatchObject({
      id: "alpha",
      created_at: "2026-01-02T00:00:00.000Z",
      modified_at: "2026-01-02T00:00:00.000Z",
      namespace: "default",
      status: "active",
      type: "r2",
      index_method: { keyword: true, vector: false },
      fusion_method: "rrf",
      max_num_results: 10,
      chunk_size: 40,
      chunk_overlap: 5,
      ai_search_model: "local/extractive",
    });
    expect(instances[0]!.embedding_model).toBeUndefined();
    expect(instances[0]!.last_activity).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("orders by created_at in either direction", async () => {
    const desc = await result<Instance[]>(
      local.baseUrl,
      "/namespaces/default/instances?order_by=created_at&order_by_direction=desc",
    );
    expect(desc.map((i) => i.id)).toEqual(["gamma", "beta", "alpha"]);
    const { status } = await call(local.baseUrl, "/namespaces/default/instances?order_by=name");
    expect(status).toBe(400);
    const bad = await callJson<Envelope<null>>(
      local.baseUrl,
      "/namespaces/default/instances?order_by_direction=up",
    );
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]!.message).toMatch(/order_by_direction/);
  });

  it("walks pages and filters by id", async () => {
    const { items, pages } = await walk<Instance>(
      "/namespaces/default/instances?order_by_direction=desc",
      2,
    );
    expect(items.map((i) => i.id)).toEqual(["gamma", "beta", "alpha"]);
    expect(pages.map((p) => p.result_info?.count)).toEqual([2, 1, 0]);
    const found = await result<Instance[]>(
      local.baseUrl,
      "/namespaces/default/instances?search=ET",
    );
    expect(found.map((i) => i.id)).toEqual(["beta"]);
  });

  it("reads an instance and its stats", async () => {
    expect(
      await result<Instance>(local.baseUrl, "/namespaces/default/instances/beta"),
    ).toMatchObject({ id: "beta" });
    const stats = await result<InstanceStats>(
      local.baseUrl,
      "/namespaces/default/instances/alpha/stats",
    );
    expect(stats).toMatchObject({ completed: 3, skipped: 1, queued: 0, running: 0, error: 0 });
    const expectedBytes = [
      "default/alpha/apples.md",
      "default/alpha/guides/pears.md",
      "default/alpha/notes.txt",
    ]
      .map((f) => Buffer.byteLength(SMALL_CORPUS[f]!))
      .reduce((a, b) => a + b);
    expect(stats.engine?.r2).toMatchObject({ objectCount: 3, payloadSizeBytes: expectedBytes });
    expect(stats.engine?.r2?.metadataSizeBytes).toBeGreaterThan(0);
  });

  it("404s unknown instances, including in another namespace and non-slug ids", async () => {
    for (const path of [
      "/namespaces/default/instances/nope",
      "/namespaces/other/instances/alpha",
      "/namespaces/default/instances/Alpha/stats",
      "/namespaces/nope/instances",
    ]) {
      const { status, body } = await callJson<Envelope<null>>(local.baseUrl, path);
      expect(status, path).toBe(404);
      expect(body.errors[0]!.code).toBeTypeOf("number");
    }
  });
});

describe("routing and errors", () => {
  it("404s unknown routes with an error envelope", async () => {
    for (const path of [
      "/nothing",
      "/namespaces/default/instances/alpha/nothing",
      "/namespaces/default/extra/stuff",
    ]) {
      const { status, body } = await callJson<Envelope<null>>(local.baseUrl, path);
      expect(status, path).toBe(404);
      expect(body).toMatchObject({ success: false, result: null });
      expect(body.errors[0]!.message).toMatch(/no route/);
    }
    const outside = await fetch(`${local.url}/elsewhere`, {
      headers: { authorization: "Bearer x" },
    });
    expect(outside.status).toBe(404);
  });

  it("answers 405 with Allow for methods a route does not take", async () => {
    const patch = await call(local.baseUrl, "/namespaces/default", { method: "PATCH" });
    expect(patch.status).toBe(405);
    expect(patch.headers.get("allow")).toBe("GET, HEAD, PUT, DELETE");
    expect(((await patch.json()) as Envelope<null>).errors[0]!.message).toMatch(/not allowed/);
    const get = await call(local.baseUrl, "/namespaces/default/search");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("401s without credentials and accepts either credential style", async () => {
    const none = await fetch(`${local.baseUrl}/accounts/a/ai-search/namespaces`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as Envelope<null>).errors[0]!.message).toMatch(
      /Authentication error/,
    );
    const half = await call(local.baseUrl, "/namespaces", {
      headers: { authorization: "", "x-auth-email": "a@b.c" },
    });
    expect(half.status).toBe(401);
    const legacy = await call(local.baseUrl, "/namespaces", {
      headers: { authorization: "", "x-auth-email": "a@b.c", "x-auth-key": "k" },
    });
    expect(legacy.status).toBe(200);
  });

  it("accepts any account id", async () => {
    const response = await fetch(`${local.baseUrl}/accounts/0123abc/ai-search/namespaces`, {
      headers: { authorization: "Bearer x" },
    });
    expect(response.status).toBe(200);
  });

  it("400s bodies that are not JSON or not objects", async () => {
    const route = "/namespaces/default/instances/alpha/search";
    for (const body of ["{nope", "", "[1,2]", "42"]) {
      const { status, body: envelope } = await callJson<Envelope<null>>(local.baseUrl, route, {
        method: "POST",
        body,
      });
      expect(status, body).toBe(400);
      expect(envelope.errors[0]!.message).toMatch(/JSON|empty|object/);
    }
  });

  it("413s oversized bodies and keeps serving", async () => {
    const huge = JSON.stringify({ query: "x".repeat(MAX_BODY_BYTES) });
    const { status, body } = await callJson<Envelope<null>>(
      local.baseUrl,
      "/namespaces/default/search",
      { body: huge },
    );
    expect(status).toBe(413);
    expect(body.errors[0]!.message).toMatch(/exceeds/);
    expect((await call(local.baseUrl, "/namespaces")).status).toBe(200);
  });

  it("records every request with its status", async () => {
    local.resetRequests();
    await call(local.baseUrl, "/namespaces?page=1");
    await call(local.baseUrl, "/namespaces/missing");
    expect(local.requests).toEqual([
      {
        method: "GET",
        path: "/client/v4/accounts/test-account/ai-search/namespaces",
        query: "page=1",
        status: 200,
        aborted: false,
      },
      {
        method: "GET",
        path: "/client/v4/accounts/test-account/ai-search/namespaces/missing",
        query: "",
        status: 404,
        aborted: false,
      },
    ]);
  });
});

describe("apiToken", () => {
  it("accepts only the configured bearer token", async () => {
    const guarded = await startLocalAiSearch({ corpusDir: dir, apiToken: "s3cret" });
    try {
      const ok = await call(guarded.baseUrl, "/namespaces", {
        headers: { authorization: "Bearer s3cret" },
      });
      expect(ok.status).toBe(200);
      const wrong = await call(guarded.baseUrl, "/namespaces", {
        headers: { authorization: "Bearer other" },
      });
      expect(wrong.status).toBe(401);
      const legacy = await call(guarded.baseUrl, "/namespaces", {
        headers: { authorization: "", "x-auth-email": "a@b.c", "x-auth-key": "s3cret" },
      });
      expect(legacy.status).toBe(401);
    } finally {
      await guarded.close();
    }
  });
});
