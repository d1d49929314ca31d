/**
 * What every route handler receives, and the lookups most of them start with. Kept apart from
 * the route table so handlers (answers.ts, items.ts, ...) and the table that names them do not
 * import each other.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import type { Catalog, ItemRecord, JobRecord, LiveInstance, NamespaceRecord } from "./catalog.ts";
import type { FaultConfig } from "./faults.ts";
import type { LlmConfig } from "./generation.ts";
import { ApiError, ErrorCode, parseJsonBody } from "./http.ts";
import type { Indexer } from "./indexing.ts";
import { describeIssue } from "./schemas.ts";
import type { DataStore } from "./store.ts";
import type { EmbeddingsClient } from "./vector-index.ts";

export interface Services {
  catalog: Catalog;
  store: DataStore;
  indexer: Indexer;
  /** Persists the catalog; settles once a write that includes the caller's change is on disk. */
  persist(): Promise<void>;
  llm: LlmConfig | undefined;
  embeddings: EmbeddingsClient | undefined;
  streamDelayMs: number;
  /** Minimum time between two user-started syncs of an instance (Cloudflare: 30 s). */
  syncCooldownMs: number;
  /** Longest `wait_for_completion` wait (Cloudflare: about 40 s). */
  waitForCompletionMs: number;
  nextCompletionId(): string;
}

export interface RequestContext {
  services: Services;
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  /** The JSON body, read up front for every route except the streaming upload. */
  body: Buffer;
  signal: AbortSignal;
  fault: FaultConfig | undefined;
  params: { namespace?: string; instance?: string; item?: string; job?: string };
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

export function requireNamespace(ctx: RequestContext): NamespaceRecord {
  const name = ctx.params.namespace!;
  const namespace = ctx.services.catalog.namespace(name);
  if (!namespace) throw namespaceNotFound(name);
  return namespace;
}

export function namespaceNotFound(name: string): ApiError {
  return new ApiError(
    404,
    ErrorCode.namespaceNotFound,
    `namespace_not_found: namespace "${name}" not found`,
  );
}

export function requireInstance(ctx: RequestContext): {
  namespace: NamespaceRecord;
  instance: LiveInstance;
} {
  const namespace = requireNamespace(ctx);
  const id = ctx.params.instance!;
  const instance = ctx.services.catalog.instance(namespace.name, id);
  if (!instance) {
    throw new ApiError(
      404,
      ErrorCode.instanceNotFound,
      `ai_search_not_found: instance "${id}" not found in namespace "${namespace.name}"`,
    );
  }
  return { namespace, instance };
}

export function requireItem(ctx: RequestContext): { instance: LiveInstance; item: ItemRecord } {
  const { instance } = requireInstance(ctx);
  const id = ctx.params.item!;
  const item = instance.items.get(id);
  if (!item) {
    throw new ApiError(
      404,
      ErrorCode.itemNotFound,
      `item_not_found: no item with id "${id}" in instance "${instance.id}"`,
    );
  }
  return { instance, item };
}

export function requireJob(ctx: RequestContext): { instance: LiveInstance; record: JobRecord } {
  const { instance } = requireInstance(ctx);
  const id = ctx.params.job!;
  const record = instance.jobs.find((candidate) => candidate.job.id === id);
  if (!record) {
    throw new ApiError(
      404,
      ErrorCode.jobNotFound,
      `job_not_found: no job with id "${id}" in instance "${instance.id}"`,
    );
  }
  return { instance, record };
}

export function parseQuery<T extends z.ZodType>(schema: T, query: URLSearchParams): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(query));
  if (!parsed.success) {
    const { message } = describeIssue(parsed.error);
    throw new ApiError(400, ErrorCode.invalidRequest, message);
  }
  return parsed.data;
}

/** Parses and validates a JSON body; problems become 400s naming the field. */
export function parseBody<T extends z.ZodType>(schema: T, ctx: RequestContext): z.infer<T> {
  const parsed = schema.safeParse(parseJsonBody(ctx.body));
  if (!parsed.success) {
    const { message, pointer } = describeIssue(parsed.error);
    throw new ApiError(400, ErrorCode.invalidRequest, message, pointer);
  }
  return parsed.data;
}
