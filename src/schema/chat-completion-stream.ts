import { builder } from "../builder.ts";
import { onTarget } from "../graphql-errors.ts";
import { type RelayedEvent, relayChatStream } from "../streams/relay.ts";
import {
  ChatCompletionInput,
  ChatCompletionRef,
  toChatCompletionRequest,
} from "./chat-completion.ts";
import { ChunkRef, InstanceErrorRef, toChunkRecords, toInstanceErrorRecords } from "./chunk.ts";

const ChunksEvent = builder
  .objectRef<Extract<RelayedEvent, { kind: "chunks" }>>("ChatCompletionChunksEvent")
  .implement({
    description: "First event: the chunks retrieved as context, before any text.",
    isTypeOf: (event) => (event as RelayedEvent).kind === "chunks",
    fields: (t) => ({
      chunks: t.field({
        type: [ChunkRef],
        description: "The retrieved chunks, best first.",
        resolve: (e) => toChunkRecords(e.namespace, e.chunks),
      }),
      errors: t.field({
        type: [InstanceErrorRef],
        description: "Instances that failed to retrieve.",
        resolve: (e) => toInstanceErrorRecords(e.namespace, e.errors),
      }),
    }),
  });

const DeltaEvent = builder
  .objectRef<Extract<RelayedEvent, { kind: "delta" }>>("ChatCompletionDeltaEvent")
  .implement({
    description: "A piece of the answer's text, in order.",
    isTypeOf: (event) => (event as RelayedEvent).kind === "delta",
    fields: (t) => ({
      sequence: t.exposeInt("sequence", {
        description: "0-based position among the deltas; a jump means a delta was lost.",
      }),
      content: t.exposeString("content", { description: "Text to append to the answer." }),
      finishReason: t.exposeString("finishReason", {
        nullable: true,
        description: "Set on the last delta: why generation stopped.",
      }),
    }),
  });

const DoneEvent = builder
  .objectRef<Extract<RelayedEvent, { kind: "done" }>>("ChatCompletionDoneEvent")
  .implement({
    description: "Last event of a successful stream: the whole completion, assembled.",
    isTypeOf: (event) => (event as RelayedEvent).kind === "done",
    fields: (t) => ({
      completion: t.expose("completion", {
        type: ChatCompletionRef,
        description: "The completion, as the mutation would have returned it.",
      }),
    }),
  });

const FailedEvent = builder
  .objectRef<Extract<RelayedEvent, { kind: "failed" }>>("ChatCompletionFailedEvent")
  .implement({
    description: "Last event of a stream that broke after it started.",
    isTypeOf: (event) => (event as RelayedEvent).kind === "failed",
    fields: (t) => ({
      code: t.exposeString("code", { description: "Stable error code, as in `extensions.code`." }),
      message: t.exposeString("message", { description: "What went wrong, safe to show." }),
      retryable: t.exposeBoolean("retryable", { description: "Whether asking again may work." }),
    }),
  });

const ChatCompletionStreamEvent = builder.unionType("ChatCompletionStreamEvent", {
  description: "An event of a streamed answer: chunks first, then deltas, then done (or failed).",
  types: [ChunksEvent, DeltaEvent, DoneEvent, FailedEvent],
});

builder.subscriptionFields((t) => ({
  chatCompletionStream: t.field({
    type: ChatCompletionStreamEvent,
    description:
      "Streams an answer as the upstream writes it: the retrieved chunks, then text deltas, then the assembled completion. Failures after the start arrive as a ChatCompletionFailedEvent.",
    args: {
      input: t.arg({ type: ChatCompletionInput, required: true, description: "The question." }),
    },
    subscribe: (_root, { input }, context) => {
      const { namespace, body } = toChatCompletionRequest(input);
      return relayChatStream({
        namespace,
        limits: context.streamLimits,
        subscriber: context.upstream.signal,
        drain: context.drainSignal,
        open: (signal) =>
          onTarget(
            { namespace },
            context.upstream.streamChatCompletions(namespace, body, { signal }),
          ),
      });
    },
    resolve: (event: RelayedEvent) => event,
  }),
}));
