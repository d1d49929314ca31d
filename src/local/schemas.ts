/**
 * Request validation. Bodies are checked as strictly as upstream documents them (types,
 * enums, ranges) but unknown keys are tolerated, since the SDK forwards extra keys verbatim
 * and newer upstream fields should not break the local server.
 */

import { z } from "zod";
import type { ChatMessage } from "../upstream/types.ts";

const contentPart = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text"), text: z.string() }),
  z.looseObject({ type: z.literal("image_url"), image_url: z.looseObject({ url: z.string() }) }),
  z.looseObject({
    type: z.literal("file"),
    file: z.looseObject({
      filename: z.string(),
      file_data: z.string().optional(),
      file_id: z.string().optional(),
    }),
  }),
]);

const chatMessage = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.null(), z.array(contentPart)]),
});

const messages = z
  .array(chatMessage, {
    error: (issue) =>
      issue.input === undefined
        ? "messages is required"
        : "messages must be an array of chat messages",
  })
  .min(1, "messages must contain at least one message");

const cacheThreshold = z.enum([
  "super_strict_match",
  "close_enough",
  "flexible_friend",
  "anything_goes",
]);

/** One `boost_by` entry, in requests and in instance settings. */
export const boostByEntry = z.object({
  field: z.string().min(1),
  direction: z.enum(["asc", "desc", "exists", "not_exists"]).optional(),
});

const retrievalOptions = z.object({
  retrieval_type: z.enum(["vector", "keyword", "hybrid"]).optional(),
  fusion_method: z.enum(["max", "rrf"]).optional(),
  keyword_match_mode: z.enum(["and", "or"]).optional(),
  match_threshold: z.number().min(0).max(1).optional(),
  max_num_results: z.number().int().min(1).max(50).optional(),
  context_expansion: z.number().int().min(0).max(3).optional(),
  filters: z.record(z.string(), z.unknown()).optional(),
  metadata_only: z.boolean().optional(),
  return_on_failure: z.boolean().optional(),
  boost_by: z.array(boostByEntry).max(8).optional(),
});

const instanceIds = z
  .array(z.string(), {
    error: (issue) =>
      issue.input === undefined
        ? "instance_ids is required on the namespace endpoints"
        : "instance_ids must be an array of instance ids",
  })
  .min(1, "instance_ids must name at least one instance")
  .max(20, "instance_ids may name at most 20 instances");

const optionFields = {
  cache: z
    .object({ enabled: z.boolean().optional(), cache_threshold: cacheThreshold.optional() })
    .optional(),
  custom_metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  query_rewrite: z
    .object({
      enabled: z.boolean().optional(),
      model: z.string().optional(),
      rewrite_prompt: z.string().optional(),
    })
    .optional(),
  reranking: z
    .object({
      enabled: z.boolean().optional(),
      match_threshold: z.number().min(0).max(1).optional(),
      model: z.string().optional(),
    })
    .optional(),
  retrieval: retrievalOptions.optional(),
};

const namespaceOptions = z.object(
  { ...optionFields, instance_ids: instanceIds },
  {
    error: (issue) =>
      issue.input === undefined
        ? "ai_search_options.instance_ids is required on the namespace endpoints"
        : "ai_search_options must be an object",
  },
);

const instanceOptions = z
  .object(
    {
      ...optionFields,
      instance_ids: z
        .never({ error: "instance_ids is only accepted on the namespace endpoints" })
        .optional(),
    },
    { error: "ai_search_options must be an object" },
  )
  .optional();

export function chatCompletionBody(scope: "namespace" | "instance") {
  return z.object(
    {
      messages,
      model: z.string().optional(),
      stream: z.boolean().optional(),
      ai_search_options: scope === "namespace" ? namespaceOptions : instanceOptions,
    },
    { error: "the request body must be a JSON object" },
  );
}

export function searchBody(scope: "namespace" | "instance") {
  return z
    .object(
      {
        messages: messages.optional(),
        query: z.string().trim().min(1, "query must not be empty").max(10_000).optional(),
        ai_search_options: scope === "namespace" ? namespaceOptions : instanceOptions,
      },
      { error: "the request body must be a JSON object" },
    )
    .superRefine((body, ctx) => {
      if (body.query !== undefined && body.messages !== undefined) {
        ctx.addIssue({ code: "custom", message: "provide either query or messages, not both" });
      } else if (body.query === undefined && body.messages === undefined) {
        ctx.addIssue({ code: "custom", message: "provide query or messages" });
      }
    });
}

export type ChatCompletionBody = z.infer<ReturnType<typeof chatCompletionBody>>;
export type SearchBody = z.infer<ReturnType<typeof searchBody>>;
export type RetrievalOptionsBody = z.infer<typeof retrievalOptions>;

/** Text of the last user message (string content, or its text parts joined). */
export function lastUserText(list: readonly ChatMessage[]): string {
  for (let i = list.length - 1; i >= 0; i--) {
    const message = list[i]!;
    if (message.role !== "user") continue;
    return messageText(message).trim();
  }
  return "";
}

export function messageText(message: ChatMessage): string {
  if (typeof message.content === "string") return message.content;
  if (!message.content) return "";
  return message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n");
}

export const positiveInt = (name: string, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a positive integer`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(1, `${name} must be at least 1`)
        .max(max, `${name} must be at most ${max}`),
    )
    .optional();

export const listQuery = z.object({
  page: positiveInt("page", 1_000_000),
  per_page: positiveInt("per_page", 100),
  search: z.string().max(256).optional(),
});

export const instanceListQuery = listQuery.extend({
  order_by: z.enum(["created_at"]).optional(),
  order_by_direction: z.enum(["asc", "desc"]).optional(),
});

/** Formats the first zod issue as "path: message", the shape our 400s use. */
export function describeIssue(error: z.ZodError): { message: string; pointer: string } {
  const issue = error.issues[0];
  const segments = issue?.path.map(String) ?? [];
  const message = issue?.message ?? "invalid request";
  const field = segments.at(-1);
  let text: string;
  if (field === undefined || message.startsWith(segments.join("."))) text = message;
  else if (message.startsWith(`${field} `)) {
    // The message already names its field ("instance_ids is required"); just qualify it.
    text = [...segments.slice(0, -1), message].join(".");
  } else text = `${segments.join(".")}: ${message}`;
  return { message: text, pointer: `/${segments.join("/")}` };
}
