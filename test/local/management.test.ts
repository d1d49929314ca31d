/** Namespaces and instances written over HTTP: create, update, delete, move, and the refusals. */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalAiSearch } from "../../src/local/server.ts";
import type { Envelope, Instance, Namespace } from "../../src/upstream/types.ts";
import { callJson, result, startSmallLocal } from "./helpers.ts";

let local: LocalAiSearch;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ local, stop } = await startSmallLocal());
});
afterAll(() => stop());

async function refusal(rest: string, method: string, body?: unknown) {
  const { status, body: envelope } = await callJson<Envelope<null>>(local.baseUrl, rest, {
    method,
    ...(body === undefined ? {} : { body }),
  });
  return { status, code: envelope.errors[0]?.code, message: envelope.errors[0]?.message ?? "" };
}

describe("namespaces", () => {
  it("creates, reads, lists, updates and deletes a namespace", async () => {
    const created = await result<Namespace>(local.baseUrl, "/namespaces", {
      body: { name: "team-a", description: "Team A" },
    });
    expect(created).toMatchObject({ name: "team-a", description: "Team A" });
    expect(Date.parse(created.created_at)).not.toBeNaN();
    expect(await result<Namespace>(local.baseUrl, "/namespaces/team-a")).toEqual(created);
    const names = (await result<Namespace[]>(local.baseUrl, "/namespaces")).map((n) => n.name);
    expect(names).toEqual(["default", "other", "team-a"]);

    const updated = await result<Namespace>(local.baseUrl, "/namespaces/team-a", {
      method: "PUT",
      body: { description: "Renamed team" },
    });
    expect(updated.description).toBe("Renamed team");

    expect(
      await result<Namespace>(local.baseUrl, "/namespaces/team-a", { method: "DELETE" }),
    ).toMatchObject({ name: "team-a" });
    expect((await refusal("/namespaces/team-a", "GET")).code).toBe(7063);
  });

  it.each([
    ["the default namespace", { name: "default" }, 400, 7065],
    ["a taken name", { name: "other" }, 409, 7064],
    ["a non-slug name", { name: "Bad Name" }, 400, 10001],
    [
      "a description over 256 characters",
      { name: "long", description: "x".repeat(257) },
      400,
      10001,
    ],
  ])("refuses to create %s", async (_what, body, status, code) => {
    expect(await refusal("/namespaces", "POST", body)).toMatchObject({ status, code });
  });

  it("keeps the default namespace's description but sets its public endpoint", async () => {
    expect(await refusal("/namespaces/default", "PUT", { description: "mine now" })).toMatchObject({
      status: 400,
      code: 7065,
    });
    const updated = await result<Namespace>(local.baseUrl, "/namespaces/default", {
      method: "PUT",
      body: { public_endpoint_params: { enabled: true, instances_allowed: ["alpha"] } },
    });
    expect(updated.description).toBe("Small test namespace");
    expect(updated.public_endpoint_params).toEqual({ enabled: true, instances_allowed: ["alpha"] });
    expect(updated.public_endpoint_id).toMatch(/^[0-9a-f]{32}$/);
    expect(
      await refusal("/namespaces/default", "PUT", {
        public_endpoint_params: { instances_allowed: ["nope"] },
      }),
    ).toMatchObject({ status: 400, message: expect.stringMatching(/nope/) });
  });

  it("refuses to delete the default namespace or one that still has instances", async () => {
    expect(await refusal("/namespaces/default", "DELETE")).toMatchObject({
      status: 400,
      code: 7065,
      message: expect.stringMatching(/^cannot_modify_default_namespace: /),
    });
    expect(await refusal("/namespaces/other", "DELETE")).toMatchObject({
      status: 400,
      code: 7066,
      message: expect.stringMatching(/^namespace_not_empty: .*2 instance/),
    });
  });
});

describe("instances", () => {
  it("creates an empty managed instance with the given settings", async () => {
    await result(local.baseUrl, "/namespaces", { body: { name: "fresh" } });
    const created = await result<Instance>(local.baseUrl, "/namespaces/fresh/instances", {
      body: { id: "notes", chunk_size: 64, chunk_overlap: 8, max_num_results: 5, reranking: true },
    });
    expect(created).toMatchObject({
      id: "notes",
      namespace: "fresh",
      chunk_size: 64,
      chunk_overlap: 8,
      max_num_results: 5,
      reranking: true,
      custom_metadata: [],
    });
    expect(created.type).toBeUndefined(); // managed, upload-only storage
    expect(await result(local.baseUrl, "/namespaces/fresh/instances/notes/stats")).toMatchObject({
      completed: 0,
      queued: 0,
    });
    const found = await result<{ chunks: unknown[] }>(
      local.baseUrl,
      "/namespaces/fresh/instances/notes/search",
      { body: { query: "anything" } },
    );
    expect(found.chunks).toEqual([]);
  });

  it.each([
    ["an id the namespace has", { id: "alpha" }, 400, 7022],
    ["a non-slug id", { id: "Nope!" }, 400, 10001],
    [
      "an overlap as large as the chunk",
      { id: "x1", chunk_size: 10, chunk_overlap: 10 },
      400,
      10001,
    ],
    ["an external source", { id: "x2", type: "r2", source: "my-bucket" }, 400, 10001],
    ["an unsupported cache_ttl", { id: "x3", cache_ttl: 5 }, 400, 10001],
  ])("refuses to create %s", async (_what, body, status, code) => {
    expect(await refusal("/namespaces/default/instances", "POST", body)).toMatchObject({
      status,
      code,
    });
  });

  it("updates settings; new chunking re-indexes the items and applies to search", async () => {
    const before = await result<Instance>(local.baseUrl, "/namespaces/other/instances/sequence");
    expect(before.chunk_size).toBe(10);
    const updated = await result<Instance>(local.baseUrl, "/namespaces/other/instances/sequence", {
      method: "PUT",
      body: { chunk_size: 30, chunk_overlap: 0, score_threshold: 0 },
    });
    expect(updated).toMatchObject({ chunk_size: 30, chunk_overlap: 0, type: "r2" });
    expect(updated.modified_at > before.modified_at).toBe(true);
    // 30 words: one chunk once the re-index ran (it was three chunks of 10 with overlap 2).
    await expect
      .poll(
        async () =>
          (
            await result<{ chunks: { text: string }[] }>(
              local.baseUrl,
              "/namespaces/other/instances/sequence/search",
              { body: { query: "n0 n29" } },
            )
          ).chunks.length,
        { timeout: 5_000 },
      )
      .toBe(1);
  });

  it("moves an instance to another namespace, with Cloudflare's refusals", async () => {
    await result(local.baseUrl, "/namespaces", { body: { name: "archive" } });
    expect(
      await refusal("/namespaces/default/instances/gamma", "PATCH", { new_namespace: "default" }),
    ).toMatchObject({ status: 400, code: 7067 });
    expect(
      await refusal("/namespaces/default/instances/gamma", "PATCH", { new_namespace: "ghost" }),
    ).toMatchObject({ status: 404, code: 7063 });

    const moved = await result<Instance>(local.baseUrl, "/namespaces/default/instances/gamma", {
      method: "PATCH",
      body: { new_namespace: "archive" },
    });
    expect(moved).toMatchObject({ id: "gamma", namespace: "archive" });
    expect((await refusal("/namespaces/default/instances/gamma", "GET")).code).toBe(7002);
    expect(await result(local.baseUrl, "/namespaces/archive/instances/gamma")).toMatchObject({
      namespace: "archive",
    });

    await result(local.baseUrl, "/namespaces/archive/instances", { body: { id: "beta" } });
    expect(
      await refusal("/namespaces/default/instances/beta", "PATCH", { new_namespace: "archive" }),
    ).toMatchObject({ status: 400, code: 7022 });
  });

  it("deletes an instance and its index; then the namespace can go", async () => {
    await result(local.baseUrl, "/namespaces", { body: { name: "short-lived" } });
    await result(local.baseUrl, "/namespaces/short-lived/instances", { body: { id: "tmp" } });
    const deleted = await result<Instance>(local.baseUrl, "/namespaces/short-lived/instances/tmp", {
      method: "DELETE",
    });
    expect(deleted.id).toBe("tmp");
    expect((await refusal("/namespaces/short-lived/instances/tmp", "GET")).code).toBe(7002);
    await result(local.baseUrl, "/namespaces/short-lived", { method: "DELETE" });

    // A corpus instance can be deleted too; its folder is left alone.
    await result(local.baseUrl, "/namespaces/other/instances/veg", { method: "DELETE" });
    const chat = await callJson<{ errors?: { instance_id: string }[] }>(
      local.baseUrl,
      "/namespaces/other/chat/completions",
      {
        body: {
          messages: [{ role: "user", content: "carrots" }],
          ai_search_options: { instance_ids: ["veg"] },
        },
      },
    );
    expect(chat.body.errors?.map((e) => e.instance_id)).toEqual(["veg"]);
  });

  it("answers the legacy /instances paths for the default namespace", async () => {
    const created = await result<Instance>(local.baseUrl, "/instances", {
      body: { id: "legacy" },
    });
    expect(created.namespace).toBe("default");
    expect(await result(local.baseUrl, "/namespaces/default/instances/legacy")).toMatchObject({
      id: "legacy",
    });
    expect(await result(local.baseUrl, "/instances/legacy/stats")).toMatchObject({ completed: 0 });
    await result(local.baseUrl, "/instances/legacy", { method: "DELETE" });
  });
});
