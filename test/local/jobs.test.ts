/**
 * Sync jobs over HTTP: a job rescans the instance's corpus folder (new, changed and deleted
 * files), retries failed items, logs what it did and ends; a second sync too soon is refused.
 */

import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LocalAiSearch } from "../../src/local/server.ts";
import type { Item, Job, JobLog } from "../../src/upstream/management-types.ts";
import type { Envelope, SearchResult } from "../../src/upstream/types.ts";
import { callJson, result, startSmallLocal, uploadItem, WAIT, waitForItem } from "./helpers.ts";

const BETA = "/namespaces/default/instances/beta";
let harness: { local: LocalAiSearch; dir: string; stop: () => Promise<void> } | undefined;

afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

async function start(syncCooldownMs?: number) {
  harness = await startSmallLocal({
    indexingStepMs: 10,
    ...(syncCooldownMs === undefined ? {} : { syncCooldownMs }),
  });
  return harness;
}

async function startSync(local: LocalAiSearch, rest: string, body: unknown = {}) {
  return callJson<Envelope<Job>>(local.baseUrl, `${rest}/jobs`, { body });
}

function ended(local: LocalAiSearch, rest: string, id: string): Promise<Job> {
  return vi.waitFor(async () => {
    const job = await result<Job>(local.baseUrl, `${rest}/jobs/${id}`);
    expect(job.ended_at).toBeDefined();
    return job;
  }, WAIT);
}

async function keys(local: LocalAiSearch, query: string): Promise<string[]> {
  const found = await result<SearchResult>(local.baseUrl, `${BETA}/search`, { body: { query } });
  return found.chunks.map((chunk) => chunk.item!.key);
}

describe("sync jobs", () => {
  it("start, run, end and log; a second one within the cooldown gets 429 sync_in_cooldown", async () => {
    const { local } = await start();
    const { status, body } = await startSync(local, BETA, { description: "nightly" });
    expect(status).toBe(200);
    expect(body.result).toMatchObject({ source: "user", description: "nightly" });
    expect(body.result.ended_at).toBeUndefined();

    const too_soon = await startSync(local, BETA);
    expect(too_soon.status).toBe(429);
    expect(too_soon.body.errors[0]).toMatchObject({ code: 7020 });
    expect(too_soon.body.errors[0]!.message).toMatch(/^sync_in_cooldown: /);
    expect(too_soon.headers.get("retry-after")).toMatch(/^\d+$/);

    const job = await ended(local, BETA, body.result.id);
    expect(job.end_reason).toBe("completed");
    const logs = await result<JobLog[]>(local.baseUrl, `${BETA}/jobs/${job.id}/logs`);
    expect(logs.map((log) => log.message)).toEqual([
      "sync started",
      "0 items to index",
      "sync ended (completed): 0 indexed, 0 failed",
    ]);
    expect(logs.map((log) => log.id)).toEqual([1, 2, 3]);
    expect(logs[0]!.created_at).toBeGreaterThan(Date.now() - 60_000);
    expect(await result<Job[]>(local.baseUrl, `${BETA}/jobs`)).toEqual([job]);
    const missing = await callJson<Envelope<null>>(local.baseUrl, `${BETA}/jobs/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0]!.code).toBe(7021);
  });

  it("pick up new, changed and deleted corpus files", async () => {
    const { local, dir } = await start(0);
    const folder = path.join(dir, "default", "beta");
    await writeFile(path.join(folder, "new.md"), "# New\n\nPomelos arrived in the orchard.\n");
    await writeFile(path.join(folder, "citrus.md"), "# Citrus\n\nYuzu replaced the oranges.\n");
    await rm(path.join(folder, "apples-in-history.md"));
    expect(await keys(local, "pomelos")).toEqual([]); // nothing changes until a sync

    const { body } = await startSync(local, BETA);
    const job = await ended(local, BETA, body.result.id);
    expect(job.end_reason).toBe("completed");
    expect(await keys(local, "pomelos")).toEqual(["new.md"]);
    expect(await keys(local, "yuzu")).toEqual(["citrus.md"]);
    expect(await keys(local, "lemons")).toEqual([]);
    expect(await keys(local, "centuries")).toEqual([]);
    const items = await result<Item[]>(local.baseUrl, `${BETA}/items?sort_by=modified_at`);
    expect(items.map((item) => item.key).sort()).toEqual(["citrus.md", "new.md"]);
    const messages = (await result<JobLog[]>(local.baseUrl, `${BETA}/jobs/${job.id}/logs`)).map(
      (log) => log.message,
    );
    expect(messages).toContain("apples-in-history.md: removed from the corpus folder, deleted");
    expect(messages).toContain("2 items to index");
    expect(messages.at(-1)).toBe("sync ended (completed): 2 indexed, 0 failed");
  });

  it("retry items that failed, and report the ones that fail again", async () => {
    const { local } = await start(0);
    // A file of headings only fails; a sync retries it, and it fails again.
    const item = await uploadItem(local.baseUrl, BETA, "heading.md", "# Only a heading\n");
    await waitForItem(local.baseUrl, BETA, item.id, "error");
    const retry = await startSync(local, BETA);
    const job = await ended(local, BETA, retry.body.result.id);
    expect(job.end_reason).toBe("errors");
    const messages = (await result<JobLog[]>(local.baseUrl, `${BETA}/jobs/${job.id}/logs`)).map(
      (log) => log.message,
    );
    expect(messages).toContain("1 item to index");
    expect(messages.some((m) => m.startsWith("heading.md: file_content_empty"))).toBe(true);
  });

  it("can be cancelled while running, and not once ended", async () => {
    harness = await startSmallLocal({ indexingStepMs: 200, syncCooldownMs: 0 });
    const { local, dir } = harness;
    const folder = path.join(dir, "default", "beta");
    for (const name of ["a", "b", "c"]) {
      await writeFile(path.join(folder, `${name}.md`), `Fresh ${name} content.`);
    }
    const { body } = await startSync(local, BETA);
    await expect
      .poll(
        async () => (await result<Item[]>(local.baseUrl, `${BETA}/items?status=queued`)).length,
        WAIT,
      )
      .toBeGreaterThan(0);
    const cancelled = await result<Job>(local.baseUrl, `${BETA}/jobs/${body.result.id}`, {
      method: "PATCH",
      body: { action: "cancel" },
    });
    expect(cancelled.end_reason).toBe("cancelled");
    expect(await result<Item[]>(local.baseUrl, `${BETA}/items?status=queued`)).toEqual([]);
    const left = await result<Item[]>(local.baseUrl, `${BETA}/items?status=outdated`);
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((item) => ["a.md", "b.md", "c.md"].includes(item.key))).toBe(true);
    const again = await callJson<Envelope<null>>(local.baseUrl, `${BETA}/jobs/${body.result.id}`, {
      method: "PATCH",
      body: { action: "cancel" },
    });
    expect(again.status).toBe(400);
    expect(again.body.errors[0]!.code).toBe(7046);
  });
});
