/**
 * Moving items through their statuses, for real and asynchronously: one worker takes queued
 * items in order, waits a step, marks the item `running`, waits a step, reads its content,
 * chunks (and, with embeddings, embeds) it and swaps it into the search indexes — `completed`
 * — or records why not (`error`, `skipped`). The step (`indexingStepMs`) exists so tests and
 * progress views can watch the statuses move; it is not a simulation of work, the work is done.
 *
 * Jobs (sync runs) rescan an instance's corpus folder for new, changed and deleted files,
 * retry failed items, and end when the items they queued have settled.
 */

import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import path from "node:path";
import type { ItemStatus } from "../upstream/management-types.ts";
import type { ItemRecord, JobRecord, LiveInstance } from "./catalog.ts";
import { filesBelow } from "./corpus.ts";
import { buildDocument, type CorpusDocument, isIndexable, MAX_ITEM_BYTES } from "./documents.ts";
import { pause } from "./faults.ts";
import { decodeText, itemLog, JobLogType, jobLog, newCorpusItem, seedOf } from "./records.ts";

const MAX_JOBS = 20;
const SETTLED: ReadonlySet<ItemStatus> = new Set(["completed", "error", "skipped"]);

export interface IndexerOptions {
  stepMs: number;
  /** The stored bytes of an item (its blob, or its corpus file). */
  readContent(instance: LiveInstance, item: ItemRecord): Promise<Buffer>;
  /** Asks for the catalog to be persisted. */
  persist(): void;
}

interface Task {
  instance: LiveInstance;
  item: ItemRecord;
  generation: number;
  job: JobRecord | undefined;
}

type Outcome =
  | { status: "completed"; document: CorpusDocument; vectors?: number[][] }
  | { status: "error" | "skipped"; error: string };

export class Indexer {
  private readonly queue: Task[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly stopped = new AbortController();
  private working = false;
  private active: Task | undefined;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly options: IndexerOptions) {}

  /** Queues `item` to be indexed (again). Its current chunks stay searchable until replaced. */
  enqueue(
    instance: LiveInstance,
    item: ItemRecord,
    status: "queued" | "outdated" = "queued",
    job?: JobRecord,
  ): void {
    if (this.stopped.signal.aborted) return;
    item.generation += 1;
    item.status = status;
    item.nextAction = "INDEX";
    delete item.error;
    job?.pending.add(item.id);
    this.queue.push({ instance, item, generation: item.generation, job });
    this.notify();
    if (!this.working) this.idle = this.work();
  }

  /** Drops the queued work of an instance (deleted) or of one item (deleted). */
  forget(instance: LiveInstance, item?: ItemRecord): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const task = this.queue[i]!;
      if (task.instance === instance && (!item || task.item === item)) this.queue.splice(i, 1);
    }
    this.notify();
  }

  /** Resolves once `item` is completed, failed or skipped, or after `timeoutMs`. */
  settled(item: ItemRecord, timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(check);
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const check = () => {
        if (SETTLED.has(item.status)) done();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener("abort", done, { once: true });
      this.waiters.add(check);
      check();
    });
  }

  startJob(instance: LiveInstance, description: string | undefined): JobRecord {
    const now = new Date().toISOString();
    const record: JobRecord = {
      job: {
        id: randomBytes(16).toString("hex"),
        source: "user",
        started_at: now,
        last_seen_at: now,
      },
      logs: [],
      pending: new Set(),
      scanning: false,
      indexed: 0,
      failed: 0,
    };
    if (description !== undefined) record.job.description = description;
    instance.jobs.push(record);
    trimJobs(instance);
    jobLog(record, JobLogType.info, "sync started");
    void this.runJob(instance, record).catch((error: unknown) => {
      jobLog(record, JobLogType.error, `sync failed: ${(error as Error).message}`);
      this.endJob(record, "error");
    });
    return record;
  }

  /** Stops a running job; the items it had not reached yet are left `outdated`. */
  cancelJob(record: JobRecord): void {
    const untouched = this.queue.filter((task) => task.job === record);
    // The task being worked on counts as untouched until it is running.
    if (this.active?.job === record && this.active.item.status !== "running") {
      untouched.push(this.active);
    }
    for (const task of untouched) {
      const index = this.queue.indexOf(task);
      if (index !== -1) this.queue.splice(index, 1);
      task.item.generation += 1; // whatever still runs for it is discarded
      task.item.status = "outdated";
      itemLog(task.item, "index", "sync cancelled before this item was indexed");
    }
    record.pending.clear();
    jobLog(record, JobLogType.warning, "sync cancelled");
    this.endJob(record, "cancelled");
  }

  async close(): Promise<void> {
    this.stopped.abort();
    this.queue.length = 0;
    await this.idle;
  }

  private async work(): Promise<void> {
    this.working = true;
    try {
      for (let task = this.queue.shift(); task; task = this.queue.shift()) {
        this.active = task;
        await this.process(task).catch((error: unknown) => {
          console.error("[local-ai-search] indexing failed unexpectedly:", error);
        });
      }
    } finally {
      this.active = undefined;
      this.working = false;
    }
  }

  private current(task: Task): boolean {
    return (
      !this.stopped.signal.aborted &&
      task.instance.items.get(task.item.id) === task.item &&
      task.item.generation === task.generation
    );
  }

  private async process(task: Task): Promise<void> {
    const { instance, item } = task;
    await pause(this.options.stepMs, this.stopped.signal);
    if (!this.current(task)) return;
    item.status = "running";
    this.changed();
    await pause(this.options.stepMs, this.stopped.signal);
    if (!this.current(task)) return;

    const started = Date.now();
    const outcome = await this.analyse(instance, item);
    if (!this.current(task)) return;
    const elapsed = Date.now() - started;
    item.lastSeenAt = new Date().toISOString();
    item.nextAction = null;
    if (outcome.status === "completed") {
      instance.setDocument(item, outcome.document, outcome.vectors);
      item.status = "completed";
      delete item.error;
      const chunks = outcome.document.chunks.length;
      itemLog(item, "index", `indexed ${chunks} chunk${chunks === 1 ? "" : "s"}`, {
        chunkCount: chunks,
        processingTimeMs: elapsed,
      });
    } else {
      // A file that no longer indexes must not keep answering with its old chunks.
      instance.setDocument(item, undefined);
      item.status = outcome.status;
      item.error = outcome.error;
      itemLog(item, "index", outcome.error, {
        errorType: outcome.error.split(":")[0]!,
        processingTimeMs: elapsed,
      });
    }
    const job = task.job;
    if (job?.pending.delete(item.id)) {
      job.job.last_seen_at = item.lastSeenAt;
      if (outcome.status === "completed") job.indexed += 1;
      else job.failed += 1;
      jobLog(
        job,
        outcome.status === "error" ? JobLogType.error : JobLogType.info,
        `${item.key}: ${outcome.status === "completed" ? "indexed" : outcome.error}`,
      );
      if (job.pending.size === 0 && !job.scanning) {
        this.endJob(job, job.failed > 0 ? "errors" : "completed");
      }
    }
    this.changed();
  }

  /**
   * Indexes an item at start-up, without steps, status changes or logs: what it was before the
   * restart it becomes again. Vectors are left to the first vector query, as for the corpus.
   */
  async restore(instance: LiveInstance, item: ItemRecord): Promise<void> {
    const outcome = await this.analyse(instance, item, false);
    if (outcome.status === "completed") {
      instance.setDocument(item, outcome.document);
      return;
    }
    item.status = outcome.status;
    item.error = outcome.error;
  }

  private async analyse(instance: LiveInstance, item: ItemRecord, embed = true): Promise<Outcome> {
    if (!isIndexable(item.key)) {
      return {
        status: "skipped",
        error: "unsupported_type: the local AI Search indexes plain text types only",
      };
    }
    let bytes: Buffer;
    try {
      bytes = await this.options.readContent(instance, item);
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      return missing
        ? { status: "error", error: "file_not_found: the file is gone from its source" }
        : { status: "error", error: `unknown_error: ${(error as Error).message}` };
    }
    if (bytes.length > MAX_ITEM_BYTES) {
      return {
        status: "skipped",
        error: `over_size: ${bytes.length} bytes exceeds the ${MAX_ITEM_BYTES}-byte limit`,
      };
    }
    const raw = decodeText(bytes);
    if (raw === undefined) {
      return {
        status: "error",
        error: "unable_to_convert_to_markdown: the file is not UTF-8 text",
      };
    }
    item.fileSize = bytes.length;
    const document = buildDocument(
      {
        key: item.key,
        raw,
        sizeBytes: bytes.length,
        timestamp: Math.floor(item.activityMs / 1000),
        instanceId: instance.id,
        idSeed: seedOf(instance, item),
        customMetadata: item.customMetadata,
      },
      instance.settings,
    );
    if (document.body.replace(/^[ \t]*#{1,6}[ \t].*$/gm, "").trim() === "") {
      return {
        status: "error",
        error: "file_content_empty: the file has no text besides headings",
      };
    }
    if (!instance.vector || !embed) return { status: "completed", document };
    try {
      const vectors = await instance.vector.embed(document.chunks, this.stopped.signal);
      return { status: "completed", document, vectors };
    } catch (error) {
      return { status: "error", error: `error_embedding_data: ${(error as Error).message}` };
    }
  }

  private async runJob(instance: LiveInstance, record: JobRecord): Promise<void> {
    await pause(this.options.stepMs, this.stopped.signal);
    if (this.stopped.signal.aborted || record.job.ended_at) return;
    let queued = 0;
    // Items queued early may finish while the scan goes on; the job must not end before it.
    record.scanning = true;
    try {
      if (instance.corpus) queued += await this.rescanCorpus(instance, record);
    } finally {
      record.scanning = false;
    }
    if (record.job.ended_at) return;
    for (const item of instance.items.values()) {
      if (item.status !== "error" || record.pending.has(item.id)) continue;
      this.enqueue(instance, item, "queued", record);
      queued += 1;
    }
    jobLog(record, JobLogType.info, `${queued} item${queued === 1 ? "" : "s"} to index`);
    if (record.pending.size === 0) this.endJob(record, record.failed > 0 ? "errors" : "completed");
    this.changed();
  }

  /** Compares the corpus folder with the instance's corpus items and queues the differences. */
  private async rescanCorpus(instance: LiveInstance, record: JobRecord): Promise<number> {
    const corpus = instance.corpus!;
    const sourceId = instance.sourceId!;
    const present = new Set<string>();
    let queued = 0;
    const keys = await filesBelow(corpus.dir).catch(() => [] as string[]);
    for (const key of keys) {
      if (key === "instance.json") continue;
      present.add(key);
      const info = await stat(path.join(corpus.dir, key)).catch(() => undefined);
      if (record.job.ended_at) return queued; // cancelled while scanning
      if (!info) continue;
      const existing = instance.findByKey(key, sourceId);
      if (existing && existing.sourceMtimeMs === info.mtimeMs && existing.fileSize === info.size) {
        continue;
      }
      const item = existing ?? newCorpusItem(instance, key, info.mtimeMs, info.size);
      item.sourceMtimeMs = info.mtimeMs;
      item.activityMs = info.mtimeMs;
      instance.items.set(item.id, item);
      this.enqueue(instance, item, existing ? "outdated" : "queued", record);
      queued += 1;
    }
    for (const item of [...instance.items.values()]) {
      if (item.sourceId !== sourceId || present.has(item.key)) continue;
      instance.setDocument(item, undefined);
      instance.items.delete(item.id);
      this.forget(instance, item);
      jobLog(record, JobLogType.info, `${item.key}: removed from the corpus folder, deleted`);
    }
    return queued;
  }

  private endJob(record: JobRecord, reason: string): void {
    if (record.job.ended_at) return;
    const now = new Date().toISOString();
    record.job.ended_at = now;
    record.job.last_seen_at = now;
    record.job.end_reason = reason;
    jobLog(
      record,
      JobLogType.info,
      `sync ended (${reason}): ${record.indexed} indexed, ${record.failed} failed`,
    );
    this.changed();
  }

  private changed(): void {
    this.notify();
    if (!this.stopped.signal.aborted) this.options.persist();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Keeps the newest jobs; a running job is never dropped. */
function trimJobs(instance: LiveInstance): void {
  while (instance.jobs.length > MAX_JOBS) {
    const index = instance.jobs.findIndex((record) => record.job.ended_at !== undefined);
    if (index === -1) break;
    instance.jobs.splice(index, 1);
  }
}
