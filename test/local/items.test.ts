/**
 * Items over real HTTP: multipart upload, statuses that move, search and chat that find the
 * content once indexed, deletion that removes it, and every refusal Cloudflare documents.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalAiSearch } from "../../src/local/server.ts";
import type { Item, ItemChunk, ItemLog } from "../../src/upstream/management-types.ts";
import type {
  ChatCompletionResponse,
  Envelope,
  InstanceStats,
  SearchResult,
} from "../../src/upstream/types.ts";
import {
  AUTH,
  apiPath,
  call,
  callJson,
  result,
  startSmallLocal,
  upload,
  uploadItem,
  WAIT,
  waitForItem,
} from "./helpers.ts";

const TEAM = "/namespaces/team/instances/handbook";
const QUOKKA =
  "# Travel policy\n\nEvery trip needs a quokkaproof receipt. Receipts older than a month are refused.\n";
const QUOKKA_BYTES = Buffer.byteLength(QUOKKA);
let local: LocalAiSearch;
let stop: () => Promise<void>;

beforeAll(async () => {
  // A long step makes `running` last long enough to be seen on a loaded machine.
  ({ local, stop } = await startSmallLocal({ indexingStepMs: 150 }));
  await result(local.baseUrl, "/namespaces", { body: { name: "team" } });
  await result(local.baseUrl, "/namespaces/team/instances", {
    body: {
      id: "handbook",
      chunk_size: 40,
      chunk_overlap: 5,
      custom_metadata: [{ field_name: "team", data_type: "text" }],
    },
  });
});
afterAll(() => stop());

async function searchKeys(rest: string, query: string): Promise<string[]> {
  const found = await result<SearchResult>(local.baseUrl, `${rest}/search`, { body: { query } });
  return found.chunks.map((chunk) => chunk.item!.key);
}

async function failure(response: Response) {
  const body = (await response.json()) as Envelope<null>;
  return { status: response.status, code: body.errors[0]?.code, message: body.errors[0]?.message };
}

describe("an uploaded document", () => {
  let item: Item;

  it("is queued, then running, then completed — and only then searchable", async () => {
    item = await uploadItem(local.baseUrl, TEAM, "policies/quokka.md", QUOKKA, {
      metadata: JSON.stringify({ team: "finance", region: "eu" }),
    });
    expect(item).toMatchObject({
      key: "policies/quokka.md",
      status: "queued",
      next_action: "INDEX",
      source_id: "builtin",
      namespace: "team",
      chunks_count: null,
      metadata: { team: "finance", region: "eu" },
    });
    expect(item.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await searchKeys(TEAM, "quokkaproof")).toEqual([]);

    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          const current = await result<Item>(local.baseUrl, `${TEAM}/items/${item.id}`);
          seen.add(current.status);
          return current.status;
        },
        { timeout: 5_000, interval: 10 },
      )
      .toBe("completed");
    expect(seen).toContain("running");

    const done = await result<Item>(local.baseUrl, `${TEAM}/items/${item.id}`);
    expect(done).toMatchObject({ chunks_count: 1, next_action: null, file_size: QUOKKA_BYTES });
    expect(done.metadata).toMatchObject({
      folder: "policies/",
      title: "Travel policy",
      team: "finance",
    });
    expect(await searchKeys(TEAM, "quokkaproof")).toEqual(["policies/quokka.md"]);
  });

  it("is found by namespace search and chat completions next to other instances (RRF)", async () => {
    await result(local.baseUrl, "/namespaces/team/instances", { body: { id: "other-notes" } });
    const second = await uploadItem(
      local.baseUrl,
      "/namespaces/team/instances/other-notes",
      "quokka-notes.txt",
      "Notes on the quokkaproof process: scan the receipt first.",
    );
    await waitForItem(
      local.baseUrl,
      "/namespaces/team/instances/other-notes",
      second.id,
      "completed",
    );
    const found = await result<SearchResult>(local.baseUrl, "/namespaces/team/search", {
      body: {
        query: "quokkaproof",
        ai_search_options: { instance_ids: ["handbook", "other-notes"] },
      },
    });
    expect(found.chunks.map((c) => c.instance_id).sort()).toEqual(["handbook", "other-notes"]);
    expect(found.chunks[0]!.scoring_details).toMatchObject({
      fusion_method: "rrf",
      keyword_rank: 1,
    });

    const { status, body } = await callJson<ChatCompletionResponse>(
      local.baseUrl,
      "/namespaces/team/chat/completions",
      {
        body: {
          messages: [{ role: "user", content: "What does a quokkaproof receipt need?" }],
          ai_search_options: { instance_ids: ["handbook"] },
        },
      },
    );
    expect(status).toBe(200);
    expect(body.choices[0]!.message.content).toContain("[policies/quokka.md]");
  });

  it("has its chunks, its logs and its raw content", async () => {
    const chunks = await result<ItemChunk[]>(local.baseUrl, `${TEAM}/items/${item.id}/chunks`);
    expect(chunks).toHaveLength(1);
    const raw = await (await call(local.baseUrl, `${TEAM}/items/${item.id}/download`)).text();
    expect(raw.slice(chunks[0]!.start_byte, chunks[0]!.end_byte)).toBe(chunks[0]!.text);
    expect(chunks[0]!.item).toMatchObject({ key: "policies/quokka.md" });

    const logs = await result<ItemLog[]>(local.baseUrl, `${TEAM}/items/${item.id}/logs`);
    expect(logs.map((log) => log.action)).toEqual(["index", "upload"]); // newest first
    expect(logs[0]).toMatchObject({
      chunkCount: 1,
      fileKey: "policies/quokka.md",
      errorType: null,
    });
    expect(logs[0]!.processingTimeMs).toBeTypeOf("number");
    const older = await result<ItemLog[]>(
      local.baseUrl,
      `${TEAM}/items/${item.id}/logs?limit=1&cursor=1`,
    );
    expect(older.map((log) => log.action)).toEqual(["upload"]);

    const download = await call(local.baseUrl, `${TEAM}/items/${item.id}/download`);
    expect(download.headers.get("content-type")).toBe("text/markdown");
    expect(download.headers.get("content-disposition")).toBe('attachment; filename="quokka.md"');
  });

  it("is listed with filters, sorting and pages", async () => {
    const extra = await uploadItem(
      local.baseUrl,
      TEAM,
      "zz-extra.txt",
      "An extra note about lemurs.",
    );
    await waitForItem(local.baseUrl, TEAM, extra.id, "completed");
    const all = await result<Item[]>(local.baseUrl, `${TEAM}/items?sort_by=modified_at`);
    expect(all.map((i) => i.key)).toEqual(["zz-extra.txt", "policies/quokka.md"]);
    const { body } = await callJson<Envelope<Item[]>>(
      local.baseUrl,
      `${TEAM}/items?per_page=1&page=2`,
    );
    expect(body.result_info).toEqual({ page: 2, per_page: 1, count: 1, total_count: 2 });
    expect(
      (await result<Item[]>(local.baseUrl, `${TEAM}/items?key=zz-extra.txt`)).map((i) => i.id),
    ).toEqual([extra.id]);
    expect(await result<Item[]>(local.baseUrl, `${TEAM}/items?status=error`)).toEqual([]);
    expect(
      (await result<Item[]>(local.baseUrl, `${TEAM}/items?search=QUOKKA`)).map((i) => i.key),
    ).toEqual(["policies/quokka.md"]);
    const filter = encodeURIComponent(JSON.stringify({ team: "finance" }));
    expect(
      (await result<Item[]>(local.baseUrl, `${TEAM}/items?metadata_filter=${filter}`)).map(
        (i) => i.key,
      ),
    ).toEqual(["policies/quokka.md"]);
    expect((await callJson(local.baseUrl, `${TEAM}/items?per_page=51`)).status).toBe(400);
    expect((await callJson(local.baseUrl, `${TEAM}/items?metadata_filter=%7Bnope`)).status).toBe(
      400,
    );
  });

  it("syncs again on PATCH, waiting for completion when asked", async () => {
    const synced = await result<Item>(local.baseUrl, `${TEAM}/items/${item.id}`, {
      method: "PATCH",
      body: { next_action: "INDEX", wait_for_completion: true },
    });
    expect(synced.status).toBe("completed");
    const logs = await result<ItemLog[]>(local.baseUrl, `${TEAM}/items/${item.id}/logs`);
    expect(logs.map((log) => log.message)).toEqual([
      "indexed 1 chunk",
      "sync requested",
      "indexed 1 chunk",
      `uploaded ${QUOKKA_BYTES} bytes`,
    ]);
    const { status } = await callJson(local.baseUrl, `${TEAM}/items/${item.id}`, {
      method: "PATCH",
      body: { next_action: "DELETE" },
    });
    expect(status).toBe(400);
  });

  it("disappears from search and stats once deleted", async () => {
    expect(await result(local.baseUrl, `${TEAM}/items/${item.id}`, { method: "DELETE" })).toEqual({
      key: "policies/quokka.md",
    });
    expect(await searchKeys(TEAM, "quokkaproof")).toEqual([]);
    const gone = await callJson<Envelope<null>>(local.baseUrl, `${TEAM}/items/${item.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.errors[0]!.code).toBe(7041);
    expect(await result<InstanceStats>(local.baseUrl, `${TEAM}/stats`)).toMatchObject({
      completed: 1,
      queued: 0,
    });
  });
});

describe("uploads Cloudflare refuses", () => {
  it.each([
    ["an empty file", "empty.md", "", {}, 400, 10001, /^file_content_empty/],
    ["a binary type", "photo.png", "png", {}, 400, 7060, /^unsupported_file_type/],
    ["a text name with binary content", "bin.txt", "a\u0000b", {}, 400, 7060, /not UTF-8 text/],
    ["a key over 128 characters", `${"k".repeat(126)}.md`, "text", {}, 400, 7072, /128/],
    ["a key climbing out", "../escape.md", "text", {}, 400, 10001, /not a valid item key/],
    [
      "metadata that is not an object",
      "m.md",
      "text",
      { metadata: "[1]" },
      400,
      7056,
      /^invalid_metadata_format/,
    ],
  ])("%s", async (_what, filename, content, options, status, code, message) => {
    const response = await upload(local.baseUrl, TEAM, filename, content, options);
    expect(await failure(response)).toMatchObject({
      status,
      code,
      message: expect.stringMatching(message),
    });
  });

  it("a file over Cloudflare's 4 MB item limit: 413", async () => {
    const response = await upload(
      local.baseUrl,
      TEAM,
      "huge.txt",
      "a ".repeat(2 * 1024 * 1024 + 1),
    );
    expect(await failure(response)).toMatchObject({ status: 413, code: 7054 });
  });

  it("a body without a file part, and one that is not multipart", async () => {
    const form = new FormData();
    form.append("metadata", "{}");
    const noFile = await fetch(`${local.baseUrl}${apiPath(`${TEAM}/items`)}`, {
      method: "POST",
      headers: AUTH,
      body: form,
    });
    expect(await failure(noFile)).toMatchObject({ status: 400, code: 7055 });
    const json = await callJson<Envelope<null>>(local.baseUrl, `${TEAM}/items`, {
      body: { file: "x" },
    });
    expect(json.status).toBe(400);
    expect(json.body.errors[0]!.message).toMatch(/multipart\/form-data/);
  });

  it("a key the instance already has: 409", async () => {
    const first = await uploadItem(local.baseUrl, TEAM, "twice.md", "Once upon a time.");
    const again = await upload(local.baseUrl, TEAM, "twice.md", "Twice.");
    expect(await failure(again)).toMatchObject({ status: 409, code: 7042 });
    await waitForItem(local.baseUrl, TEAM, first.id, "completed");
  });

  it("uploads to a missing instance or a paused one", async () => {
    const missing = await upload(local.baseUrl, "/namespaces/team/instances/ghost", "a.md", "x");
    expect(await failure(missing)).toMatchObject({ status: 404, code: 7002 });
    await result(local.baseUrl, "/namespaces/team/instances", { body: { id: "paused" } });
    await result(local.baseUrl, "/namespaces/team/instances/paused", {
      method: "PUT",
      body: { paused: true },
    });
    const paused = await upload(local.baseUrl, "/namespaces/team/instances/paused", "a.md", "x");
    expect(await failure(paused)).toMatchObject({ status: 400, code: 7032 });
  });

  it("keeps serving after all of the above", async () => {
    expect((await call(local.baseUrl, "/namespaces")).status).toBe(200);
  });
});

describe("items that fail to index", () => {
  it("a file of headings only ends in error with file_content_empty", async () => {
    const item = await uploadItem(local.baseUrl, TEAM, "hollow.md", "# Title\n\n## Subtitle\n");
    const failed = await waitForItem(local.baseUrl, TEAM, item.id, "error");
    expect(failed.error).toMatch(/^file_content_empty: /);
    expect(await result<Item[]>(local.baseUrl, `${TEAM}/items?status=error`)).toHaveLength(1);
    expect((await result<InstanceStats>(local.baseUrl, `${TEAM}/stats`)).error).toBe(1);
    const logs = await result<ItemLog[]>(local.baseUrl, `${TEAM}/items/${item.id}/logs`);
    expect(logs[0]).toMatchObject({ errorType: "file_content_empty", chunkCount: null });
  });
});

describe("corpus files", () => {
  const ALPHA = "/namespaces/default/instances/alpha";

  it("are listed as items: indexed ones completed, unsupported ones skipped", async () => {
    const items = await result<Item[]>(local.baseUrl, `${ALPHA}/items`);
    expect(items.map((i) => [i.key, i.status])).toEqual([
      ["image.png", "skipped"],
      ["apples.md", "completed"],
      ["guides/pears.md", "completed"],
      ["notes.txt", "completed"],
    ]);
    expect(items[0]!.error).toMatch(/^unsupported_type: /);
    expect(items.every((i) => i.source_id === "r2:local-corpus/default/alpha")).toBe(true);
  });

  it("cannot be deleted or downloaded through the API, but can be synced", async () => {
    const [apples] = await result<Item[]>(local.baseUrl, `${ALPHA}/items?key=apples.md`);
    const del = await call(local.baseUrl, `${ALPHA}/items/${apples!.id}`, { method: "DELETE" });
    expect(await failure(del)).toMatchObject({ status: 400, code: 7053 });
    const download = await call(local.baseUrl, `${ALPHA}/items/${apples!.id}/download`);
    expect(await failure(download)).toMatchObject({ status: 400, code: 7059 });
    const synced = await result<Item>(local.baseUrl, `${ALPHA}/items`, {
      method: "PUT",
      body: { key: "apples.md", next_action: "INDEX", wait_for_completion: true },
    });
    expect(synced).toMatchObject({ id: apples!.id, status: "completed" });
    const { status, body } = await callJson<Envelope<null>>(local.baseUrl, `${ALPHA}/items`, {
      method: "PUT",
      body: { key: "no-such-file.md", next_action: "INDEX" },
    });
    expect(status).toBe(404);
    expect(body.errors[0]!.code).toBe(7041);
  });

  it("share an instance with uploads", async () => {
    const item = await uploadItem(local.baseUrl, ALPHA, "uploaded.md", "Kumquats are tiny citrus.");
    await waitForItem(local.baseUrl, ALPHA, item.id, "completed");
    expect(await searchKeys(ALPHA, "kumquats")).toEqual(["uploaded.md"]);
    await waitForCompleted(ALPHA, 4);
  });
});

async function waitForCompleted(rest: string, completed: number) {
  await expect
    .poll(async () => (await result<InstanceStats>(local.baseUrl, `${rest}/stats`)).completed, WAIT)
    .toBe(completed);
}
