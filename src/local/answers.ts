/**
 * The search and chat completion endpoints, at namespace scope (fan-out over
 * `ai_search_options.instance_ids`) and at instance scope.
 *
 * When every requested instance is unknown, the namespace endpoints still answer 200 with no
 * chunks and one `errors` entry per instance: that keeps "unknown instance" a per-instance
 * condition whatever the other ids are, so a client needs only one code path for it.
 */

import type { z } from "zod";
import type {
  AiSearchOptions,
  ChatCompletionResponse,
  ChatMessage,
  Chunk,
  SearchResult,
} from "../upstream/types.ts";
import { type RequestContext, requireInstance, requireNamespace } from "./context.ts";
import { compileFilter, FilterError } from "./filters.ts";
import {
  EXTRACTIVE_MODEL,
  extractiveAnswer,
  LlmError,
  llmComplete,
  llmMessages,
  llmStream,
} from "./generation.ts";
import { ApiError, ErrorCode, parseJsonBody, sendJson, sendResult } from "./http.ts";
import { type RetrievalPlan, retrieve, type SearchTarget } from "./retrieval.ts";
import { chatCompletionBody, describeIssue, lastUserText, searchBody } from "./schemas.ts";
import { splitIntoDeltas, writeCompletionStream } from "./stream.ts";

type Scope = "namespace" | "instance";

const SEARCH_BODY = { namespace: searchBody("namespace"), instance: searchBody("instance") };
const CHAT_BODY = {
  namespace: chatCompletionBody("namespace"),
  instance: chatCompletionBody("instance"),
};

export async function search(ctx: RequestContext, scope: Scope): Promise<void> {
  const namespace = scopeNamespace(ctx, scope);
  const body = validate(SEARCH_BODY[scope], parseJsonBody(ctx.body));
  const query = body.query ?? requireUserText(body.messages as ChatMessage[]);
  const targets = targetsFor(ctx, scope, namespace, body.ai_search_options);
  const plan = planRetrieval(ctx, query, body.ai_search_options, targets);
  const { chunks, errors } = await retrieve(namespace, targets, plan, ctx.signal);
  const result: SearchResult = {
    chunks: shown(chunks, body.ai_search_options),
    search_query: query,
    query_kind: "text",
  };
  if (errors.length > 0) result.errors = errors;
  sendResult(ctx.res, result);
}

export async function chat(ctx: RequestContext, scope: Scope): Promise<void> {
  const namespace = scopeNamespace(ctx, scope);
  const body = validate(CHAT_BODY[scope], parseJsonBody(ctx.body));
  const messages = body.messages as ChatMessage[];
  const query = requireUserText(messages);
  const targets = targetsFor(ctx, scope, namespace, body.ai_search_options);
  const plan = planRetrieval(ctx, query, body.ai_search_options, targets);
  const { chunks, errors } = await retrieve(namespace, targets, plan, ctx.signal);
  if (ctx.signal.aborted) return;
  // What the response carries; the answer itself is written from `chunks`, text and all.
  const carried = shown(chunks, body.ai_search_options);

  const { llm, streamDelayMs } = ctx.services;
  // The request's `model` names an upstream model the local server does not have; reporting
  // the model that actually answered is the honest choice.
  const frame = {
    id: ctx.services.nextCompletionId(),
    created: Math.floor(Date.now() / 1000),
    model: llm?.model ?? EXTRACTIVE_MODEL,
  };
  try {
    if (body.stream) {
      const deltas = llm
        ? await llmStream(llm, llmMessages(messages, chunks), ctx.signal)
        : splitIntoDeltas(extractiveAnswer(query, chunks));
      await writeCompletionStream(ctx.res, {
        chunks: carried,
        errors,
        frame,
        deltas,
        delayMs: llm ? 0 : streamDelayMs,
        fault: ctx.fault,
        signal: ctx.signal,
      });
      return;
    }
    const content = llm
      ? await llmComplete(llm, llmMessages(messages, chunks), ctx.signal)
      : extractiveAnswer(query, chunks);
    const response: ChatCompletionResponse = {
      ...frame,
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      chunks: carried,
    };
    if (errors.length > 0) response.errors = errors;
    sendJson(ctx.res, 200, response);
  } catch (error) {
    if (error instanceof LlmError) throw new ApiError(502, ErrorCode.modelFailure, error.message);
    throw error;
  }
}

/** The chunks a response carries: without their text under `metadata_only` (answers still use it). */
function shown(chunks: Chunk[], options: AiSearchOptions | undefined): Chunk[] {
  return options?.retrieval?.metadata_only
    ? chunks.map((chunk) => ({ ...chunk, text: "" }))
    : chunks;
}

/** 404s for an unknown namespace or instance come before any body validation. */
function scopeNamespace(ctx: RequestContext, scope: Scope): string {
  return scope === "instance" ? requireInstance(ctx).namespace.name : requireNamespace(ctx).name;
}

/** Namespace scope: the requested ids, duplicates dropped and order kept. */
function targetsFor(
  ctx: RequestContext,
  scope: Scope,
  namespace: string,
  options: AiSearchOptions | undefined,
): SearchTarget[] {
  if (scope === "instance") {
    const { instance } = requireInstance(ctx);
    return [{ id: instance.id, instance }];
  }
  return [...new Set(options?.instance_ids ?? [])].map((id) => ({
    id,
    instance: ctx.services.catalog.instance(namespace, id),
  }));
}

function validate<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const { message, pointer } = describeIssue(parsed.error);
    throw new ApiError(400, ErrorCode.invalidRequest, message, pointer);
  }
  return parsed.data;
}

function requireUserText(messages: readonly ChatMessage[]): string {
  const text = lastUserText(messages);
  if (!text) {
    throw new ApiError(
      400,
      ErrorCode.invalidRequest,
      "messages must include a user message with text content to search for",
      "/messages",
    );
  }
  return text;
}

/** Turns `ai_search_options` into a retrieval plan; instance settings fill what it omits. */
function planRetrieval(
  ctx: RequestContext,
  query: string,
  options: AiSearchOptions | undefined,
  targets: readonly SearchTarget[],
): RetrievalPlan {
  const { embeddings } = ctx.services;
  const retrieval = options?.retrieval ?? {};
  const retrievalType = retrieval.retrieval_type ?? (embeddings ? "hybrid" : "keyword");
  if (retrievalType !== "keyword" && !embeddings) {
    throw new ApiError(
      400,
      ErrorCode.invalidRequest,
      `retrieval_type "${retrievalType}" needs vector search, but this local AI Search has no embeddings ` +
        'endpoint configured (LOCAL_EMBEDDINGS_BASE_URL / LOCAL_EMBEDDINGS_MODEL); use "keyword"',
      "/ai_search_options/retrieval/retrieval_type",
    );
  }
  let accept: RetrievalPlan["accept"] = () => true;
  if (retrieval.filters !== undefined) {
    try {
      accept = compileFilter(retrieval.filters, "ai_search_options.retrieval.filters");
    } catch (error) {
      if (!(error instanceof FilterError)) throw error;
      throw new ApiError(
        400,
        ErrorCode.invalidRequest,
        error.message,
        "/ai_search_options/retrieval/filters",
      );
    }
  }
  const known = targets.flatMap((target) => (target.instance ? [target.instance.settings] : []));
  const plan: RetrievalPlan = {
    query,
    retrievalType,
    fusionMethod: retrieval.fusion_method ?? known[0]?.fusionMethod ?? "rrf",
    keywordMatchMode: retrieval.keyword_match_mode,
    matchThreshold: retrieval.match_threshold,
    maxNumResults:
      retrieval.max_num_results ??
      (known.length > 0 ? Math.max(...known.map((s) => s.maxNumResults)) : 10),
    contextExpansion: retrieval.context_expansion ?? 0,
    accept,
    boostBy: retrieval.boost_by ?? [],
  };
  if (embeddings) {
    plan.embedQuery = async (text, signal) => (await embeddings.embed([text], signal))[0]!;
  }
  return plan;
}
