import { Repeater } from "graphql-yoga";
import { builder, type StreamLimits } from "../builder.ts";
import { ErrorCode } from "../error-codes.ts";
import { describeError } from "../graphql-errors.ts";
import type {
  ChatCompletionResponse,
  Chunk,
  InstanceError,
  StreamEvent,
} from "../upstream/types.ts";
import {
  ChatCompletionInput,
  type ChatCompletionRecord,
  ChatCompletionRef,
  toChatCompletionRequest,
} from "./chat-completion.ts";
import { ChunkRef, InstanceErrorRef, toChunkRecords, toInstanceErrorRecords } from "./chunk.ts";

type StreamedEvent =
  | { kind: "chunks"; namespace: string; chunks: Chunk[]; errors: InstanceError[] }
  | { kind: "delta"; sequence: number; content: string; finishReason: string | null }
  | { kind: "done"; completion: ChatCompletionRecord }
  | { kind: "failed"; code: string; message: string; retryable: boolean };

const ChunksEvent = builder
  .objectRef<Extract<StreamedEvent, { kind: "chunks" }>>("ChatCompletionChunksEvent")
  .implement({
    description: "First event: the chunks retrieved as context, before any text.",
    isTypeOf: (event) => (event as StreamedEvent).kind === "chunks",
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
  .objectRef<Extract<StreamedEvent, { kind: "delta" }>>("ChatCompletionDeltaEvent")
  .implement({
    description: "A piece of the answer's text, in order.",
    isTypeOf: (event) => (event as StreamedEvent).kind === "delta",
    fields: (t) => ({
      sequence: t.exposeInt("sequence", {
        description: "0-based position among the deltas; a jump means a delta was lost.",
      }),
      content: t.exposeString("content", { description: "Text to append to the answer." }),
      finishReason: t.string({
        nullable: true,
        description: "Set on the last delta: why generation stopped.",
        resolve: (e) => e.finishReason,
      }),
    }),
  });

const DoneEvent = builder
  .objectRef<Extract<StreamedEvent, { kind: "done" }>>("ChatCompletionDoneEvent")
  .implement({
    description: "Last event of a successful stream: the whole completion, assembled.",
    isTypeOf: (event) => (event as StreamedEvent).kind === "done",
    fields: (t) => ({
      completion: t.field({
        type: ChatCompletionRef,
        description: "The completion, as the mutation would have returned it.",
        resolve: (e) => e.completion,
      }),
    }),
  });

const FailedEvent = builder
  .objectRef<Extract<StreamedEvent, { kind: "failed" }>>("ChatCompletionFailedEvent")
  .implement({
    description: "Last event of a stream that broke after it started.",
    isTypeOf: (event) => (event as StreamedEvent).kind === "failed",
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

/** Builds the final completion from what the stream carried, so clients need not. */
function assemble(
  namespace: string,
  chunks: Chunk[],
  errors: InstanceError[],
  content: string,
  meta: { id?: string; model?: string; created?: number; finishReason: string | null },
): ChatCompletionRecord {
  const response: ChatCompletionResponse = {
    id: meta.id,
    model: meta.model,
    created: meta.created,
    object: "chat.completion",
    choices: [
      { index: 0, message: { role: "assistant", content }, finish_reason: meta.finishReason },
    ],
    chunks,
    errors,
  };
  return { namespace, response };
}

/**
 * Relays upstream events one by one. `push` resolves only when the subscriber took the event,
 * so a slow subscriber pauses the upstream read instead of growing a buffer. Stopping the
 * repeater (subscriber gone) aborts the upstream request at once, even mid-read.
 */
function relay(
  namespace: string,
  events: AsyncIterable<StreamEvent>,
  upstream: AbortController,
  limits: StreamLimits,
  shutdown?: AbortSignal,
): Repeater<StreamedEvent> {
  return new Repeater<StreamedEvent>(async (push, stop) => {
    stop.then(() => upstream.abort());
    let chunks: Chunk[] = [];
    let errors: InstanceError[] = [];
    let content = "";
    const meta: { id?: string; model?: string; created?: number; finishReason: string | null } = {
      finishReason: null,
    };
    // A runaway upstream (endless or huge answer) is cut off here, never buffered or relayed forever.
    let overLimit = false;
    const cutOff = () => {
      overLimit = true;
      upstream.abort();
    };
    const deadline = setTimeout(cutOff, limits.maxDurationMs);
    // A gateway shutting down ends the stream the same way, with a retryable failure, so the
    // client reconnects (to another instance) instead of seeing its connection just drop.
    let shuttingDown = false;
    let completed = false;
    const onShutdown = () => {
      shuttingDown = true;
      upstream.abort();
    };
    if (shutdown?.aborted) onShutdown();
    else shutdown?.addEventListener("abort", onShutdown, { once: true });
    try {
      for await (const event of events) {
        if (event.type === "chunks") {
          chunks = event.chunks;
          errors = event.errors ?? [];
          await push({ kind: "chunks", namespace, chunks, errors });
        } else if (event.type === "delta") {
          content += event.content;
          if (content.length > limits.maxChars) {
            cutOff();
            break;
          }
          meta.id ??= event.id;
          meta.model ??= event.model;
          meta.created ??= event.created;
          meta.finishReason = event.finishReason ?? meta.finishReason;
          await push({
            kind: "delta",
            sequence: event.sequence,
            content: event.content,
            finishReason: event.finishReason,
          });
        } else {
          completed = true;
          await push({
            kind: "done",
            completion: assemble(namespace, chunks, errors, content, meta),
          });
        }
      }
    } catch (error) {
      if (!upstream.signal.aborted) {
        completed = true;
        const { code, message, retryable } = describeError(error);
        await push({ kind: "failed", code, message, retryable });
      }
    } finally {
      clearTimeout(deadline);
      shutdown?.removeEventListener("abort", onShutdown);
      if (shuttingDown && !overLimit && !completed) {
        await push({
          kind: "failed",
          code: ErrorCode.SHUTTING_DOWN,
          message: "The gateway is shutting down; subscribe again to get a complete answer.",
          retryable: true,
        });
      }
      if (overLimit) {
        await push({
          kind: "failed",
          code: ErrorCode.STREAM_LIMIT_EXCEEDED,
          message: "The answer exceeded the gateway's size or time limit and was cut off.",
          retryable: false,
        });
      }
      stop();
    }
  });
}

/**
 * A subscriber may leave before asking for the first event (graphql-ws `complete` while the
 * headers were still coming). The relay's own cleanup never runs then, since a repeater starts
 * only on its first `next()`, so leaving must abort the upstream request here.
 */
function abortOnReturn<T>(
  events: AsyncIterator<T>,
  upstream: AbortController,
): AsyncIterableIterator<T> {
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => events.next(),
    return: (value?: unknown) => {
      upstream.abort();
      return events.return
        ? events.return(value)
        : Promise.resolve({ done: true, value: undefined as T });
    },
    throw: (error?: unknown) => {
      upstream.abort();
      return events.throw ? events.throw(error) : Promise.reject(error);
    },
  };
}

builder.subscriptionFields((t) => ({
  chatCompletionStream: t.field({
    type: ChatCompletionStreamEvent,
    description:
      "Streams an answer as the upstream writes it: the retrieved chunks, then text deltas, then the assembled completion. Failures after the start arrive as a ChatCompletionFailedEvent.",
    args: {
      input: t.arg({ type: ChatCompletionInput, required: true, description: "The question." }),
    },
    subscribe: async (_root, { input }, context) => {
      const { namespace, body } = toChatCompletionRequest(input);
      const upstream = new AbortController();
      const onCallerGone = () => upstream.abort();
      context.call.signal?.addEventListener("abort", onCallerGone, { once: true });
      // Awaiting the headers here makes failures before the first byte (unknown namespace,
      // rate limit, upstream down) ordinary GraphQL errors with an `extensions.code`.
      const events = await context.upstream.streamChatCompletions(namespace, body, {
        ...context.call,
        signal: upstream.signal,
      });
      // The relay aborts `upstream` whenever it ends, which also unhooks us from the caller.
      upstream.signal.addEventListener(
        "abort",
        () => context.call.signal?.removeEventListener("abort", onCallerGone),
        { once: true },
      );
      return abortOnReturn(
        relay(namespace, events, upstream, context.stream, context.shutdown),
        upstream,
      );
    },
    resolve: (event: StreamedEvent) => event,
  }),
}));
