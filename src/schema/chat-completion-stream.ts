import { GraphQLError } from "graphql";
import { builder } from "../builder.ts";
import { ErrorCode } from "../error-codes.ts";
import { onTarget } from "../graphql-errors.ts";
import { streamNotFound } from "../streams/hub.ts";
import type { RelayedEvent } from "../streams/relay.ts";
import {
  ChatCompletionInput,
  ChatCompletionRef,
  toChatCompletionRequest,
} from "./chat-completion.ts";
import { ChunkRef, InstanceErrorRef, toChunkRecords, toInstanceErrorRecords } from "./chunk.ts";

/** Stream ids are v4 UUIDs; anything else names no stream and is never looked up. */
const STREAM_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const STREAM_ID_DESCRIPTION =
  "The stream this event belongs to: give it to resumeChatCompletionStream or cancelChatCompletionStream.";
const SEQUENCE_DESCRIPTION =
  "Position in the stream: 0 for the chunks event, then +1 for every event of any kind, through the last (done or failed). A jump means an event was missed; resume after the last one seen.";

const ChunksEvent = builder
  .objectRef<Extract<RelayedEvent, { kind: "chunks" }>>("ChatCompletionChunksEvent")
  .implement({
    description: "First event: the chunks retrieved as context, before any text.",
    isTypeOf: (event) => (event as RelayedEvent).kind === "chunks",
    fields: (t) => ({
      streamId: t.exposeID("streamId", { description: STREAM_ID_DESCRIPTION }),
      sequence: t.exposeInt("sequence", { description: SEQUENCE_DESCRIPTION }),
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
      streamId: t.exposeID("streamId", { description: STREAM_ID_DESCRIPTION }),
      sequence: t.exposeInt("sequence", {
        description: `${SEQUENCE_DESCRIPTION} The first delta is 1 (the chunks event is 0).`,
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
      streamId: t.exposeID("streamId", { description: STREAM_ID_DESCRIPTION }),
      sequence: t.exposeInt("sequence", { description: SEQUENCE_DESCRIPTION }),
      completion: t.expose("completion", {
        type: ChatCompletionRef,
        description: "The completion, as the mutation would have returned it.",
      }),
    }),
  });

const FailedEvent = builder
  .objectRef<Extract<RelayedEvent, { kind: "failed" }>>("ChatCompletionFailedEvent")
  .implement({
    description: "Last event of a stream that broke after it started, or was cancelled.",
    isTypeOf: (event) => (event as RelayedEvent).kind === "failed",
    fields: (t) => ({
      streamId: t.exposeID("streamId", { description: STREAM_ID_DESCRIPTION }),
      sequence: t.exposeInt("sequence", { description: SEQUENCE_DESCRIPTION }),
      code: t.exposeString("code", { description: "Stable error code, as in `extensions.code`." }),
      message: t.exposeString("message", { description: "What went wrong, safe to show." }),
      retryable: t.exposeBoolean("retryable", { description: "Whether asking again may work." }),
    }),
  });

/** Each event's type by its kind. */
const EVENT_TYPES = {
  chunks: "ChatCompletionChunksEvent",
  delta: "ChatCompletionDeltaEvent",
  done: "ChatCompletionDoneEvent",
  failed: "ChatCompletionFailedEvent",
} as const satisfies Record<RelayedEvent["kind"], string>;

const ChatCompletionStreamEvent = builder.unionType("ChatCompletionStreamEvent", {
  description: "An event of a streamed answer: chunks first, then deltas, then done (or failed).",
  types: [ChunksEvent, DeltaEvent, DoneEvent, FailedEvent],
  // Named by the event's kind, in one lookup per event. Without it, Pothos falls back to
  // graphql-js' default resolver, which fails under compiled execution: jit calls a union's
  // resolveType without the union (useCompiledExecution).
  resolveType: (event) => EVENT_TYPES[event.kind],
});

builder.subscriptionFields((t) => ({
  chatCompletionStream: t.field({
    type: ChatCompletionStreamEvent,
    description:
      "Streams an answer as the upstream writes it: the retrieved chunks, then text deltas, then the assembled completion. Failures after the start arrive as a ChatCompletionFailedEvent. A dropped connection can resume the stream with resumeChatCompletionStream.",
    args: {
      input: t.arg({ type: ChatCompletionInput, required: true, description: "The question." }),
    },
    subscribe: (_root, { input }, context) => {
      const { namespace, body } = toChatCompletionRequest(input);
      // The closures below live as long as the stream's relay: they take what they need from
      // the context, not the context (the request, its loaders, its caches) itself.
      const { upstreamUnder, subscriptionSlot } = context;
      return context.streams.start({
        namespace,
        owner: context.streamOwner,
        limits: context.streamLimits,
        signal: context.upstream.signal,
        drain: context.drainSignal,
        // The stream outlives its request (a dropped connection can resume it), so its upstream
        // call runs under the stream's own signal, with the caller's credentials all the same.
        // That binding carries the signal already: passed again, it would cost an
        // `AbortSignal.any` of it twice per stream.
        open: (signal) =>
          onTarget({ namespace }, upstreamUnder(signal).streamChatCompletions(namespace, body)),
        adoptSlot: () => subscriptionSlot?.adopt(),
      });
    },
    resolve: (event: RelayedEvent) => event,
  }),
  resumeChatCompletionStream: t.field({
    type: ChatCompletionStreamEvent,
    description:
      "Follows a stream started by chatCompletionStream, from after `afterSequence`: replays the events since, then relays the live ones, and ends as the stream does. Never starts a second completion. Unknown, expired or another client's streams fail with STREAM_NOT_FOUND.",
    args: {
      streamId: t.arg.id({ required: true, description: "The events' `streamId`." }),
      afterSequence: t.arg.int({
        required: true,
        description: "The last `sequence` received; -1 to replay from the start.",
      }),
    },
    subscribe: (_root, { streamId, afterSequence }, context) => {
      if (afterSequence < -1) {
        throw new GraphQLError("afterSequence must be -1 or more.", {
          extensions: { code: ErrorCode.BAD_USER_INPUT },
        });
      }
      const id = String(streamId);
      if (!STREAM_ID.test(id)) throw streamNotFound();
      return context.streams.follow({
        streamId: id,
        owner: context.streamOwner,
        afterSequence,
        signal: context.upstream.signal,
        drain: context.drainSignal,
      });
    },
    resolve: (event: RelayedEvent) => event,
  }),
}));

builder.mutationFields((t) => ({
  cancelChatCompletionStream: t.boolean({
    description:
      "Stops a live stream wherever it runs: the upstream request is aborted and every subscriber gets a last ChatCompletionFailedEvent with code CANCELLED. False (not an error) for an unknown, finished or another client's stream.",
    args: { streamId: t.arg.id({ required: true, description: "The events' `streamId`." }) },
    resolve: (_root, { streamId }, context) => {
      const id = String(streamId);
      return STREAM_ID.test(id) ? context.streams.cancel(id, context.streamOwner) : false;
    },
  }),
}));
