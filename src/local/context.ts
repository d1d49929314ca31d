/**
 * What every route handler receives, and the lookups most of them start with. Kept apart from
 * the route table so handlers (answers.ts, ...) and the table that names them do not import
 * each other.
 */

import type { ServerResponse } from "node:http";
import type { z } from "zod";
import type { Catalog } from "./catalog.ts";
import { SLUG } from "./corpus.ts";
import type { FaultConfig } from "./faults.ts";
import type { LlmConfig } from "./generation.ts";
import { ApiError, ErrorCode } from "./http.ts";
import { describeIssue } from "./schemas.ts";
import type { EmbeddingsClient } from "./vector-index.ts";

export interface Services {
  catalog: Catalog;
  llm: LlmConfig | undefined;
  embeddings: EmbeddingsClient | undefined;
  streamDelayMs: number;
  nextCompletionId(): string;
}

export interface RequestContext {
  services: Services;
  res: ServerResponse;
  query: URLSearchParams;
  /** Raw body; only POST routes look at it. */
  body: Buffer;
  signal: AbortSignal;
  fault: FaultConfig | undefined;
  params: { namespace?: string; instance?: string };
}

export type Handler = (ctx: RequestContext) => void | Promise<void>;

export function requireNamespace(ctx: RequestContext) {
  const name = ctx.params.namespace!;
  const namespace = SLUG.test(name) ? ctx.services.catalog.namespace(name) : undefined;
  if (!namespace) throw new ApiError(404, ErrorCode.notFound, `namespace "${name}" not found`);
  return namespace;
}

export function requireInstance(ctx: RequestContext) {
  const namespace = requireNamespace(ctx);
  const id = ctx.params.instance!;
  const instance = SLUG.test(id) ? ctx.services.catalog.instance(namespace.name, id) : undefined;
  if (!instance) {
    throw new ApiError(
      404,
      ErrorCode.notFound,
      `instance "${id}" not found in namespace "${namespace.name}"`,
    );
  }
  return { namespace, instance };
}

export function parseQuery<T extends z.ZodType>(schema: T, query: URLSearchParams): z.infer<T> {
  const parsed = schema.safeParse(Object.fromEntries(query));
  if (!parsed.success) {
    const { message } = describeIssue(parsed.error);
    throw new ApiError(400, ErrorCode.invalidRequest, message);
  }
  return parsed.data;
}
