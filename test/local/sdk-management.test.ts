/**
 * Acceptance: the official Cloudflare TypeScript SDK, unmodified, manages the local server —
 * namespaces, instances, item uploads and reads, sync jobs — and gets what it expects, typed
 * errors included.
 */

import Cloudflare, { toFile } from "cloudflare";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { removeDir, tempDataDir, WAIT } from "./helpers.ts";

const account_id = "c3dc5f0b34a14ff8e1b3ec04895e1b22";
const name = "sdk-space";
const id = "sdk-docs";
let local: LocalAiSearch;
let client: Cloudflare;
let dataDir: string;

beforeAll(async () => {
  dataDir = await tempDataDir();
  local = await startLocalAiSearch({ apiToken: "sdk-token", dataDir, indexingStepMs: 10 });
  client = new Cloudflare({ apiToken: "sdk-token", baseURL: local.baseUrl, maxRetries: 0 });
});
afterAll(async () => {
  await local?.close();
  await removeDir(dataDir);
});

describe("Cloudflare SDK managing the local AI Search", () => {
  it("creates, updates and reads a namespace and an instance", async () => {
    const namespace = await client.aiSearch.namespaces.create({
      account_id,
      name,
      description: "Made by the SDK",
    });
    expect(namespace).toMatchObject({ name, description: "Made by the SDK" });
    const updated = await client.aiSearch.namespaces.update(name, {
      account_id,
      description: "Updated by the SDK",
    });
    expect(updated.description).toBe("Updated by the SDK");

    const instance = await client.aiSearch.namespaces.instances.create(name, {
      account_id,
      id,
      chunk_size: 64,
      chunk_overlap: 8,
      custom_metadata: [{ field_name: "team", data_type: "text" }],
    });
    expect(instance).toMatchObject({ id, namespace: name, chunk_size: 64 });
    const changed = await client.aiSearch.namespaces.instances.update(id, {
      account_id,
      name,
      max_num_results: 7,
    });
    expect(changed).toMatchObject({ max_num_results: 7, chunk_size: 64 });
    const read = await client.aiSearch.namespaces.instances.read(id, { account_id, name });
    expect(read.custom_metadata).toEqual([{ field_name: "team", data_type: "text" }]);
  });

  it("turns Cloudflare's refusals into its typed errors", async () => {
    await expect(client.aiSearch.namespaces.create({ account_id, name })).rejects.toBeInstanceOf(
      Cloudflare.ConflictError,
    );
    await expect(
      client.aiSearch.namespaces.delete("default", { account_id }),
    ).rejects.toBeInstanceOf(Cloudflare.BadRequestError);
    await expect(client.aiSearch.namespaces.delete(name, { account_id })).rejects.toThrow(
      /namespace_not_empty/,
    );
  });

  it("uploads an item, waits for it, and finds it with search", async () => {
    const uploaded = await client.aiSearch.namespaces.instances.items.upload(id, {
      account_id,
      name,
      file: {
        file: await toFile(
          Buffer.from("# Ocelots\n\nThe ocelotry guide explains spots."),
          "ocelots.md",
        ),
        metadata: JSON.stringify({ team: "cats" }),
        wait_for_completion: true,
      },
    });
    expect(uploaded).toMatchObject({
      key: "ocelots.md",
      status: "completed",
      chunks_count: 1,
      source_id: "builtin",
      metadata: { team: "cats" },
    });
    expect(uploaded.warnings).toBeUndefined(); // team is declared as text

    const found = await client.aiSearch.namespaces.instances.search(id, {
      account_id,
      name,
      query: "ocelotry",
    });
    expect(found.chunks.map((chunk) => chunk.item?.key)).toEqual(["ocelots.md"]);
  });

  it("lists, reads, syncs, inspects and deletes items", async () => {
    const listed = [];
    for await (const item of client.aiSearch.namespaces.instances.items.list(id, {
      account_id,
      name,
      status: "completed",
    })) {
      listed.push(item);
    }
    expect(listed.map((item) => item.key)).toEqual(["ocelots.md"]);
    const itemId = listed[0]!.id;
    const params = { account_id, name, id };

    expect(await client.aiSearch.namespaces.instances.items.get(itemId, params)).toMatchObject({
      id: itemId,
      status: "completed",
    });
    const synced = await client.aiSearch.namespaces.instances.items.sync(itemId, {
      ...params,
      next_action: "INDEX",
      wait_for_completion: true,
    });
    expect(synced.status).toBe("completed");
    const chunks = await client.aiSearch.namespaces.instances.items.chunks(itemId, params);
    expect(chunks[0]?.text).toContain("ocelotry");
    const logs = await client.aiSearch.namespaces.instances.items.logs(itemId, params);
    expect(logs.map((log) => log.action)).toEqual(["index", "index", "index", "upload"]);
    const download = await client.aiSearch.namespaces.instances.items.download(itemId, params);
    expect(await download.text()).toBe("# Ocelots\n\nThe ocelotry guide explains spots.");

    expect(await client.aiSearch.namespaces.instances.items.delete(itemId, params)).toEqual({
      key: "ocelots.md",
    });
    await expect(
      client.aiSearch.namespaces.instances.items.get(itemId, params),
    ).rejects.toBeInstanceOf(Cloudflare.NotFoundError);
  });

  it("starts, lists, reads and logs a sync job; a second one too soon is rate limited", async () => {
    const job = await client.aiSearch.namespaces.instances.jobs.create(id, {
      account_id,
      name,
      description: "from the SDK",
    });
    expect(job).toMatchObject({ source: "user", description: "from the SDK" });
    await expect(
      client.aiSearch.namespaces.instances.jobs.create(id, { account_id, name }),
    ).rejects.toBeInstanceOf(Cloudflare.RateLimitError);

    const params = { account_id, name, id };
    const ended = await vi.waitFor(async () => {
      const current = await client.aiSearch.namespaces.instances.jobs.get(job.id, params);
      expect(current.ended_at).toBeDefined();
      return current;
    }, WAIT);
    expect(ended.end_reason).toBe("completed");
    const jobs = [];
    for await (const listed of client.aiSearch.namespaces.instances.jobs.list(id, {
      account_id,
      name,
    })) {
      jobs.push(listed.id);
    }
    expect(jobs).toEqual([job.id]);
    const logs = await client.aiSearch.namespaces.instances.jobs.logs(job.id, params);
    expect(logs[0]).toMatchObject({ id: 1, message: "sync started", message_type: 1 });
    expect(logs.at(-1)?.message).toMatch(/^sync ended \(completed\)/);
  });

  it("drives the legacy default-namespace instance and job paths", async () => {
    const legacy = await client.aiSearch.instances.create({ account_id, id: "sdk-legacy" });
    expect(legacy).toMatchObject({ id: "sdk-legacy", namespace: "default" });
    const job = await client.aiSearch.instances.jobs.create("sdk-legacy", { account_id });
    expect(job.source).toBe("user");
    expect(
      await client.aiSearch.namespaces.instances.read("sdk-legacy", {
        account_id,
        name: "default",
      }),
    ).toMatchObject({ id: "sdk-legacy" });
    await client.aiSearch.instances.delete("sdk-legacy", { account_id });
  });

  it("deletes the instance, then the namespace", async () => {
    const deleted = await client.aiSearch.namespaces.instances.delete(id, { account_id, name });
    expect(deleted.id).toBe(id);
    await client.aiSearch.namespaces.delete(name, { account_id });
    await expect(client.aiSearch.namespaces.read(name, { account_id })).rejects.toBeInstanceOf(
      Cloudflare.NotFoundError,
    );
  });
});
