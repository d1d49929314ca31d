/**
 * What is written through the API survives a restart on the same data directory; the shipped
 * corpus is never touched; an upload cut off mid-body, or a crash's leftovers, leave nothing.
 */

import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defaultCorpusDir, filesBelow } from "../../src/local/corpus.ts";
import {
  type LocalAiSearch,
  type LocalAiSearchOptions,
  startLocalAiSearch,
} from "../../src/local/server.ts";
import type { Item, Job } from "../../src/upstream/management-types.ts";
import type { Instance, Namespace, SearchResult } from "../../src/upstream/types.ts";
import {
  ACCOUNT,
  removeDir,
  result,
  SMALL_CORPUS,
  tempCorpus,
  tempDataDir,
  uploadItem,
  WAIT,
  waitForItem,
} from "./helpers.ts";

const NOTES = "/namespaces/kept/instances/notes";
const dirs: string[] = [];
const servers: LocalAiSearch[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(dirs.splice(0).map((dir) => removeDir(dir)));
});

async function track<T extends string>(dir: Promise<T>): Promise<T> {
  dirs.push(await dir);
  return dir;
}

async function start(options: LocalAiSearchOptions): Promise<LocalAiSearch> {
  const server = await startLocalAiSearch({ indexingStepMs: 5, ...options });
  servers.push(server);
  return server;
}

async function restart(server: LocalAiSearch, options: LocalAiSearchOptions) {
  await server.close();
  servers.splice(servers.indexOf(server), 1);
  return start(options);
}

async function searchKeys(local: LocalAiSearch, rest: string, query: string) {
  const found = await result<SearchResult>(local.baseUrl, `${rest}/search`, { body: { query } });
  return found.chunks.map((chunk) => chunk.item!.key);
}

async function hashTree(dir: string): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const file of await filesBelow(dir)) {
    hashes[file] = createHash("sha256")
      .update(await readFile(path.join(dir, file)))
      .digest("hex");
  }
  return hashes;
}

describe("a restart on the same data directory", () => {
  it("keeps namespaces, instances, items, their statuses and content, and jobs", async () => {
    const corpusDir = await track(tempCorpus(SMALL_CORPUS));
    const dataDir = await track(tempDataDir());
    const options = { corpusDir, dataDir, syncCooldownMs: 0 };
    let local = await start(options);
    await result(local.baseUrl, "/namespaces", { body: { name: "kept", description: "Kept" } });
    await result(local.baseUrl, "/namespaces/kept/instances", {
      body: { id: "notes", chunk_size: 30, chunk_overlap: 3 },
    });
    const item = await uploadItem(local.baseUrl, NOTES, "axolotl.md", "Axolotlium is our word.", {
      metadata: JSON.stringify({ owner: "ana" }),
    });
    await waitForItem(local.baseUrl, NOTES, item.id, "completed");
    const failed = await uploadItem(local.baseUrl, NOTES, "hollow.md", "# Nothing else\n");
    await waitForItem(local.baseUrl, NOTES, failed.id, "error");
    const job = await result<Job>(local.baseUrl, `${NOTES}/jobs`, { body: {} });
    await vi.waitFor(async () => {
      expect((await result<Job>(local.baseUrl, `${NOTES}/jobs/${job.id}`)).ended_at).toBeDefined();
    }, WAIT);
    await result(local.baseUrl, "/namespaces/other/instances/veg", {
      method: "PATCH",
      body: { new_namespace: "kept" },
    });
    await result(local.baseUrl, "/namespaces/default/instances/gamma", { method: "DELETE" });
    await result(local.baseUrl, "/namespaces/default/instances/alpha", {
      method: "PUT",
      body: { max_num_results: 3 },
    });
    const before = {
      item: await result<Item>(local.baseUrl, `${NOTES}/items/${item.id}`),
      namespaces: await result<Namespace[]>(local.baseUrl, "/namespaces"),
      instances: await result<Instance[]>(local.baseUrl, "/namespaces/kept/instances"),
    };

    local = await restart(local, options);
    expect(await result<Namespace[]>(local.baseUrl, "/namespaces")).toEqual(before.namespaces);
    const instances = await result<Instance[]>(local.baseUrl, "/namespaces/kept/instances");
    expect(instances.map((i) => [i.id, i.chunk_size])).toEqual(
      before.instances.map((i) => [i.id, i.chunk_size]),
    );
    expect(await result<Item>(local.baseUrl, `${NOTES}/items/${item.id}`)).toEqual(before.item);
    expect((await result<Item>(local.baseUrl, `${NOTES}/items/${failed.id}`)).error).toMatch(
      /^file_content_empty/,
    );
    expect(await searchKeys(local, NOTES, "axolotlium")).toEqual(["axolotl.md"]);
    // The job retried hollow.md, which failed again.
    expect(await result<Job>(local.baseUrl, `${NOTES}/jobs/${job.id}`)).toMatchObject({
      end_reason: "errors",
    });
    expect(await searchKeys(local, "/namespaces/kept/instances/veg", "carrots")).toEqual([
      "carrots.md",
    ]);
    const defaults = await result<Instance[]>(local.baseUrl, "/namespaces/default/instances");
    expect(defaults.map((i) => [i.id, i.max_num_results])).toEqual([
      ["alpha", 3],
      ["beta", 10],
    ]);
  });

  it("indexes again what was still queued when the process stopped", async () => {
    const dataDir = await track(tempDataDir());
    // A step long enough that close() comes while the item waits in the queue.
    let local = await start({ dataDir, indexingStepMs: 60_000 });
    await result(local.baseUrl, "/namespaces", { body: { name: "kept" } });
    await result(local.baseUrl, "/namespaces/kept/instances", { body: { id: "notes" } });
    const item = await uploadItem(local.baseUrl, NOTES, "later.txt", "Indexed after a restart.");
    expect(item.status).toBe("queued");
    local = await restart(local, { dataDir });
    await waitForItem(local.baseUrl, NOTES, item.id, "completed");
    expect(await searchKeys(local, NOTES, "restart")).toEqual(["later.txt"]);
  });

  it("never modifies the shipped corpus", async () => {
    const corpus = defaultCorpusDir();
    const before = await hashTree(corpus);
    const dataDir = await track(tempDataDir());
    const local = await start({ dataDir });
    const GATEWAY = "/namespaces/default/instances/gateway-docs";
    const item = await uploadItem(
      local.baseUrl,
      GATEWAY,
      "extra.md",
      "Written next to the corpus.",
    );
    await waitForItem(local.baseUrl, GATEWAY, item.id, "completed");
    await result(local.baseUrl, GATEWAY, { method: "PUT", body: { chunk_size: 50 } });
    await result(local.baseUrl, "/namespaces/handbook", {
      method: "PUT",
      body: { description: "x" },
    });
    await result(local.baseUrl, `${GATEWAY}/items/${item.id}`, { method: "DELETE" });
    await result(local.baseUrl, "/namespaces/default/instances/frontend-recipes", {
      method: "DELETE",
    });
    expect(await hashTree(corpus)).toEqual(before);
    expect(await readdir(dataDir)).toContain("state.json");
  });
});

describe("crash safety", () => {
  async function managed(dataDir: string) {
    const local = await start({ dataDir });
    await result(local.baseUrl, "/namespaces", { body: { name: "kept" } });
    await result(local.baseUrl, "/namespaces/kept/instances", { body: { id: "notes" } });
    return local;
  }

  it("an upload whose body is cut off leaves no file, no item and no blob", async () => {
    const dataDir = await track(tempDataDir());
    const local = await managed(dataDir);
    const boundary = "cut-off-boundary";
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.md"\r\n` +
      "Content-Type: text/markdown\r\n\r\n";
    const url = new URL(local.url);
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    socket.write(
      `POST /client/v4/accounts/${ACCOUNT}/ai-search${NOTES}/items HTTP/1.1\r\n` +
        `Host: ${url.host}\r\nAuthorization: Bearer t\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
        "Content-Length: 1000000\r\n\r\n",
    );
    socket.write(head + "half a document ".repeat(2000));
    // The upload is in flight once its temp file exists.
    await vi.waitFor(
      async () => expect(await readdir(path.join(dataDir, "tmp"))).toHaveLength(1),
      WAIT,
    );
    socket.destroy();

    await vi.waitFor(
      async () => expect(await readdir(path.join(dataDir, "tmp"))).toEqual([]),
      WAIT,
    );
    expect(await readdir(path.join(dataDir, "blobs"))).toEqual([]);
    expect(await result<Item[]>(local.baseUrl, `${NOTES}/items`)).toEqual([]);
    const post = local.requests.find((r) => r.method === "POST" && r.path.endsWith("/items"));
    expect(post).toMatchObject({ aborted: true });
  });

  it("leftovers of a crash are removed on start: temp uploads, half-written state, orphan blobs", async () => {
    const dataDir = await track(tempDataDir());
    let local = await managed(dataDir);
    const kept = await uploadItem(local.baseUrl, NOTES, "kept.md", "Survivor text.");
    await waitForItem(local.baseUrl, NOTES, kept.id, "completed");
    await local.close();
    servers.splice(servers.indexOf(local), 1);

    await mkdir(path.join(dataDir, "tmp"), { recursive: true });
    await writeFile(path.join(dataDir, "tmp", "0000.part"), "an upload that never finished");
    await writeFile(path.join(dataDir, "state.json.999.1.tmp"), '{"version": 1, "namesp');
    await writeFile(path.join(dataDir, "blobs", "orphan-id"), "committed, never recorded");

    local = await start({ dataDir });
    expect(await readdir(path.join(dataDir, "tmp"))).toEqual([]);
    expect((await readdir(dataDir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(await readdir(path.join(dataDir, "blobs"))).toEqual([kept.id]);
    expect((await result<Item[]>(local.baseUrl, `${NOTES}/items`)).map((i) => i.key)).toEqual([
      "kept.md",
    ]);
  });

  it("refuses to start on a state file it cannot read, rather than start empty", async () => {
    const dataDir = await track(tempDataDir());
    await writeFile(path.join(dataDir, "state.json"), "{ definitely not json");
    await expect(startLocalAiSearch({ dataDir })).rejects.toThrow(/state\.json is not valid JSON/);
  });

  it("without a data directory, writes go to a temp directory removed on close", async () => {
    const local = await startLocalAiSearch({ indexingStepMs: 5 });
    expect(local.dataDir).toBeUndefined(); // nothing written yet, nothing created
    await result(local.baseUrl, "/namespaces", { body: { name: "ephemeral" } });
    const dir = local.dataDir!;
    expect(await readdir(dir)).toContain("state.json");
    await local.close();
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});
