/**
 * Small constructors and bookkeeping for item and job records: ids, log entries, corpus items.
 */

import { createHash } from "node:crypto";
import { BUILTIN_SOURCE, type ItemRecord, type JobRecord, type LiveInstance } from "./catalog.ts";
import { corpusSeed } from "./corpus.ts";

const MAX_ITEM_LOGS = 50;
const MAX_JOB_LOGS = 500;

/** `message_type` of job log entries (Cloudflare's values are undocumented). */
export const JobLogType = { info: 1, warning: 2, error: 3 } as const;

/** Chunk ids of corpus files derive from their corpus place, of uploads from the item id. */
export function seedOf(instance: LiveInstance, item: ItemRecord): string {
  if (item.sourceId === BUILTIN_SOURCE || !instance.corpus) return item.id;
  const [namespace, id] = instance.corpus.key.split("/") as [string, string];
  return corpusSeed(namespace, id, item.key);
}

export function newCorpusItem(
  instance: LiveInstance,
  key: string,
  mtimeMs: number,
  size: number,
): ItemRecord {
  const [namespace, id] = instance.corpus!.key.split("/") as [string, string];
  const now = new Date().toISOString();
  return {
    id: corpusItemId(corpusSeed(namespace, id, key)),
    key,
    sourceId: instance.sourceId!,
    status: "queued",
    nextAction: "INDEX",
    checksum: "",
    fileSize: size,
    createdAt: new Date(mtimeMs).toISOString(),
    lastSeenAt: now,
    activityMs: mtimeMs,
    sourceMtimeMs: mtimeMs,
    customMetadata: {},
    document: undefined,
    logs: [],
    generation: 0,
  };
}

/** Stable across restarts: a hash of the file's place in the corpus. */
export function corpusItemId(seed: string): string {
  return createHash("sha256").update(`item:${seed}`).digest("hex").slice(0, 32);
}

export function itemLog(
  item: ItemRecord,
  action: string,
  message: string,
  extra: { chunkCount?: number; errorType?: string; processingTimeMs?: number } = {},
): void {
  item.logs.push({
    action,
    chunkCount: extra.chunkCount ?? null,
    errorType: extra.errorType ?? null,
    fileKey: item.key,
    message,
    processingTimeMs: extra.processingTimeMs ?? null,
    timestamp: new Date().toISOString(),
  });
  if (item.logs.length > MAX_ITEM_LOGS) item.logs.splice(0, item.logs.length - MAX_ITEM_LOGS);
}

export function jobLog(record: JobRecord, type: number, message: string): void {
  const id = (record.logs.at(-1)?.id ?? 0) + 1;
  record.logs.push({ id, created_at: Date.now(), message, message_type: type });
  if (record.logs.length > MAX_JOB_LOGS) record.logs.splice(0, record.logs.length - MAX_JOB_LOGS);
}

/** UTF-8 text without NUL bytes, or undefined for anything else. */
export function decodeText(bytes: Buffer): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
