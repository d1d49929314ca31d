/**
 * The client's management methods against the real local AI Search: every endpoint, the typed
 * refusals the graph tells apart, validation before any request, which writes are retried, and
 * coalescing of identical reads.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { AiSearchClient } from "../../src/upstream/client.ts";
import {
  UpstreamDefaultNamespaceError,
  UpstreamFileTooLargeError,
  UpstreamNamespaceNotEmptyError,
  UpstreamNameTakenError,
  UpstreamSyncCooldownError,
} from "../../src/upstream/cloudflare-codes.ts";
import {
  InvalidArgumentError,
  InvalidNameError,
  UpstreamNotFoundError,
  UpstreamServerError,
} from "../../src/upstream/errors.ts";

const TOKEN = "management-token-0123";
let local: LocalAiSearch;
let client: AiSearchClient;

const NS = "client-space";
const ID = "client-docs";

async function* bytes(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

const requestsTo = (fragment: string, method?: string) =>
  local.requests.filter((r) => r.path.includes(fragment) && (!method || r.method === method))
    .length;

beforeAll(async () => {
  local = await startLocalAiSearch({
    apiToken: TOKEN,
    indexingStepMs: 5,
    syncCooldownMs: 60_000,
  });
  client = new AiSearchClient({
    baseUrl: local.baseUrl,
    accountId: "test-account",
    credentials: { kind: "token", token: TOKEN },
    retry: { sleep: async () => {} },
  });
});
afterAll(async () => {
  await client?.close();
  await local?.close();
});
afterEach(() => {
  local.setFaults(undefined);
  local.resetRequests();
});

describe("management calls", () => {
  it("creates, updates, moves and deletes namespaces and instances", async () => {
    const api = client.withCall({ requestId: "mgmt-1" });
    expect(await api.createNamespace({ name: NS, description: "made here" })).toMatchObject({
      name: NS,
      description: "made here",
    });
    expect(await api.updateNamespace(NS, { description: "changed" })).toMatchObject({
      description: "changed",
    });
    expect(await api.createInstance(NS, { id: ID, chunk_size: 128 })).toMatchObject({
      id: ID,
      chunk_size: 128,
    });
    expect(await api.updateInstance(NS, ID, { max_num_results: 4 })).toMatchObject({
      max_num_results: 4,
    });
    await api.createNamespace({ name: "client-other" });
    await api.createInstance(NS, { id: "client-mover" });
    const moved = await api.moveInstance(NS, "client-mover", "client-other");
    expect(moved?.id).toBe("client-mover");
    expect((await api.getInstance("client-other", "client-mover")).id).toBe("client-mover");
    expect((await api.deleteInstance("client-other", "client-mover")).id).toBe("client-mover");
    await api.deleteNamespace("client-other");
    await expect(api.getNamespace("client-other")).rejects.toBeInstanceOf(UpstreamNotFoundError);
  });

  it("uploads a streamed file, reads it back, syncs it and deletes it", async () => {
    const uploaded = await client.uploadItem(NS, ID, {
      key: "guides/otters.md",
      file: {
        body: bytes("# Otters\n\n", "Otterly ", "fascinating lutrine facts."),
        contentType: "text/markdown",
      },
      metadata: { team: "rivers" },
      waitForCompletion: true,
    });
    expect(uploaded).toMatchObject({ key: "guides/otters.md", status: "completed" });
    expect(uploaded.file_size).toBe(
      Buffer.byteLength("# Otters\n\nOtterly fascinating lutrine facts."),
    );

    const page = await client.listItems(NS, ID, { key: "guides/otters.md", perPage: 10 });
    expect(page.items.map((item) => item.id)).toEqual([uploaded.id]);
    expect((await client.getItem(NS, ID, uploaded.id)).key).toBe("guides/otters.md");
    const chunks = await client.listItemChunks(NS, ID, uploaded.id, { limit: 5, offset: 0 });
    expect(chunks[0]?.text).toContain("lutrine");
    const synced = await client.syncItem(NS, ID, uploaded.id, { waitForCompletion: true });
    expect(synced.status).toBe("completed");
    const logs = await client.listItemLogs(NS, ID, uploaded.id, { limit: 10 });
    expect(logs.map((log) => log.action)).toContain("upload");

    expect(await client.deleteItem(NS, ID, uploaded.id)).toEqual({ key: "guides/otters.md" });
    await expect(client.getItem(NS, ID, uploaded.id)).rejects.toBeInstanceOf(UpstreamNotFoundError);
  });

  it("starts a sync job, lists and reads it, and reads its logs", async () => {
    const job = await client.startJob(NS, ID, { description: "from the client test" });
    expect(job).toMatchObject({ source: "user", description: "from the client test" });
    const jobs = await client.listJobs(NS, ID, { perPage: 5 });
    expect(jobs.items[0]?.id).toBe(job.id);
    expect((await client.getJob(NS, ID, job.id)).id).toBe(job.id);
    const logs = await client.listJobLogs(NS, ID, job.id);
    expect(Array.isArray(logs.items)).toBe(true);
    // The second within the cooldown is a typed refusal, not retried.
    local.resetRequests();
    const refused = await client.startJob(NS, ID).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UpstreamSyncCooldownError);
    expect((refused as UpstreamSyncCooldownError).retryAfterMs).toBeGreaterThan(0);
    expect(requestsTo("/jobs", "POST")).toBe(1);
  });
});

describe("typed refusals", () => {
  it.each([
    ["a namespace name taken", () => client.createNamespace({ name: NS }), UpstreamNameTakenError],
    ["an instance id taken", () => client.createInstance(NS, { id: ID }), UpstreamNameTakenError],
    ["a namespace not empty", () => client.deleteNamespace(NS), UpstreamNamespaceNotEmptyError],
    [
      "the default namespace",
      () => client.deleteNamespace("default"),
      UpstreamDefaultNamespaceError,
    ],
  ])("%s", async (_name, call, type) => {
    const error = await call().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(type);
  });

  it("a file over the upstream's limit", async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, "a");
    async function* body() {
      yield big;
    }
    const error = await client
      .uploadItem(NS, ID, { key: "too-big.txt", file: { body: body() } })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UpstreamFileTooLargeError);
  });
});

describe("before anything is sent", () => {
  it.each([
    ["an item key with ..", () => client.listItems(NS, ID, { key: "a/../b" }), InvalidNameError],
    ["an item id with a slash", () => client.getItem(NS, ID, "a/b"), InvalidNameError],
    ["a job id with a dot", () => client.getJob(NS, ID, "a.b"), InvalidNameError],
    [
      "a bad status",
      () => client.listItems(NS, ID, { status: "done" as never }),
      InvalidArgumentError,
    ],
    [
      "too many items per page",
      () => client.listItems(NS, ID, { perPage: 51 }),
      InvalidArgumentError,
    ],
    ["a bad move target", () => client.moveInstance(NS, ID, "Not A Slug"), InvalidNameError],
    ["a bad created id", () => client.createInstance(NS, { id: "../x" }), InvalidNameError],
    [
      "an upload key with a quote",
      () => client.uploadItem(NS, ID, { key: 'a".md', file: { body: bytes("x") } }),
      InvalidNameError,
    ],
    [
      "a non-ASCII upload key",
      () => client.uploadItem(NS, ID, { key: "café.md", file: { body: bytes("x") } }),
      InvalidArgumentError,
    ],
  ])("refuses %s", async (_name, call, type) => {
    await expect(call()).rejects.toBeInstanceOf(type);
    expect(local.requests).toHaveLength(0);
  });
});

describe("retries and coalescing", () => {
  it("does not retry a write the upstream may have applied (503)", async () => {
    local.setFaults({ errorStatus: 503, match: "/namespaces", times: 1 });
    await expect(client.createNamespace({ name: "client-retry" })).rejects.toBeInstanceOf(
      UpstreamServerError,
    );
    expect(requestsTo("/namespaces", "POST")).toBe(1);
  });

  it("retries a write refused with a plain 429", async () => {
    local.setFaults({ errorStatus: 429, retryAfterMs: 1, match: "/namespaces", times: 1 });
    expect((await client.createNamespace({ name: "client-retry" })).name).toBe("client-retry");
    expect(requestsTo("/namespaces", "POST")).toBe(2);
    await client.deleteNamespace("client-retry");
  });

  it("never retries an upload, whatever the failure", async () => {
    local.setFaults({ errorStatus: 429, retryAfterMs: 1, match: "/items", times: 1 });
    await expect(
      client.uploadItem(NS, ID, { key: "once.txt", file: { body: bytes("once") } }),
    ).rejects.toMatchObject({ status: 429 });
    expect(requestsTo("/items", "POST")).toBe(1);
  });

  it("retries reads, and shares identical ones in flight", async () => {
    local.setFaults({ latencyMs: 50, match: "/items" });
    const [a, b] = await Promise.all([
      client.withCall({ requestId: "one" }).listItems(NS, ID, { perPage: 5 }),
      client.withCall({ requestId: "two" }).listItems(NS, ID, { perPage: 5 }),
    ]);
    expect(a).toEqual(b);
    expect(requestsTo("/items", "GET")).toBe(1);
  });
});
