import { builder } from "../builder.ts";
import { badUserInput, onTarget } from "../graphql-errors.ts";
import type { ChatCompletionRequest, ChatCompletionResponse } from "../upstream/types.ts";
import { aiSearchOptionFields, toAiSearchOptions } from "./ai-search-options.ts";
import { ChunkRef, InstanceErrorRef, toChunkRecords, toInstanceErrorRecords } from "./chunk.ts";
import { ChatMessageInput, ChatMessageRef, messageText, toWireMessages } from "./message.ts";
import { validateNamespace } from "./names.ts";

/** Model ids look like `@cf/meta/llama-3.3-70b-instruct-fp8-fast` or `openai/gpt-5-mini`. */
const MODEL_PATTERN = /^[A-Za-z0-9@][A-Za-z0-9@/._:-]{0,127}$/;

export const ChatCompletionInput = builder.inputType("ChatCompletionInput", {
  description: "A question for the instances of a namespace, with retrieval options.",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "The namespace to ask." }),
    instanceIds: t.stringList({
      required: true,
      description: "The instances to retrieve from, in parallel.",
    }),
    messages: t.field({
      type: [ChatMessageInput],
      required: true,
      description: "The conversation so far; the last user message is the question.",
    }),
    model: t.string({ description: "The generating model; the instance's default when omitted." }),
    ...aiSearchOptionFields(t),
  }),
});

type ChatCompletionInputShape = typeof ChatCompletionInput.$inferInput;

/** Validates the input and builds the upstream body; throws BAD_USER_INPUT before any call. */
export function toChatCompletionRequest(input: ChatCompletionInputShape): {
  namespace: string;
  body: ChatCompletionRequest;
} {
  const namespace = validateNamespace(input.namespace);
  if (input.model != null && !MODEL_PATTERN.test(input.model)) {
    throw badUserInput(
      "`model` must be a model id such as `@cf/meta/llama-3.3-70b-instruct-fp8-fast`",
      "model",
    );
  }
  return {
    namespace,
    body: {
      messages: toWireMessages(input.messages),
      ...(input.model ? { model: input.model } : {}),
      ai_search_options: toAiSearchOptions(input.instanceIds, input),
    },
  };
}

export interface ChatCompletionRecord {
  namespace: string;
  response: ChatCompletionResponse;
}

const ChatCompletionChoiceRef = builder
  .objectRef<ChatCompletionResponse["choices"][number]>("ChatCompletionChoice")
  .implement({
    description: "One generated answer.",
    fields: (t) => ({
      index: t.int({ description: "Position among the choices.", resolve: (c) => c.index ?? 0 }),
      message: t.expose("message", {
        type: ChatMessageRef,
        description: "The answer.",
      }),
      finishReason: t.exposeString("finish_reason", {
        nullable: true,
        description: "Why generation stopped, e.g. `stop` or `length`.",
      }),
    }),
  });

export const ChatCompletionRef = builder
  .objectRef<ChatCompletionRecord>("ChatCompletion")
  .implement({
    description: "A generated answer with the chunks it was grounded on.",
    fields: (t) => ({
      id: t.string({
        nullable: true,
        description: "The completion's upstream id.",
        resolve: ({ response }) => response.id ?? null,
      }),
      model: t.string({
        nullable: true,
        description: "The model that wrote the answer.",
        resolve: ({ response }) => response.model ?? null,
      }),
      object: t.string({
        nullable: true,
        description: "The upstream object type, e.g. `chat.completion`.",
        resolve: ({ response }) => response.object ?? null,
      }),
      created: t.field({
        type: "DateTime",
        nullable: true,
        description: "When the answer was generated.",
        resolve: ({ response }) =>
          response.created == null ? null : new Date(response.created * 1000),
      }),
      content: t.string({
        nullable: true,
        description: "Shortcut: the first choice's text.",
        resolve: ({ response }) => messageText(response.choices[0]?.message.content ?? null),
      }),
      choices: t.field({
        type: [ChatCompletionChoiceRef],
        description: "The generated answers (usually one).",
        resolve: ({ response }) => response.choices,
      }),
      chunks: t.field({
        type: [ChunkRef],
        description: "The chunks retrieved as context, best first.",
        resolve: ({ namespace, response }) => toChunkRecords(namespace, response.chunks ?? []),
      }),
      errors: t.field({
        type: [InstanceErrorRef],
        description: "Instances that failed; the answer used the others.",
        resolve: ({ namespace, response }) => toInstanceErrorRecords(namespace, response.errors),
      }),
    }),
  });

builder.mutationFields((t) => ({
  chatCompletion: t.field({
    type: ChatCompletionRef,
    description:
      "Retrieves chunks from the chosen instances in parallel and generates one answer grounded on them.",
    args: {
      input: t.arg({ type: ChatCompletionInput, required: true, description: "The question." }),
    },
    resolve: async (_root, { input }, context) => {
      const { namespace, body } = toChatCompletionRequest(input);
      const response = await onTarget(
        { namespace },
        context.upstream.chatCompletions(namespace, body),
      );
      return { namespace, response };
    },
  }),
}));
