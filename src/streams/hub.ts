/**
 * Resumable streams: every streamed answer is kept, event by event, for as long as a client
 * may come back for it, and any number of subscribers follow it from any point.
 *
 * A stream is one upstream read (the relay) feeding one bounded list of events. Its followers
 * are cursors into that list: the first is the subscription that started it; later ones are
 * `resumeChatCompletionStream` subscriptions, which never start a second upstream completion.
 * The upstream is read only when a follower at the end of the list asks for more (so a slow
 * client still pauses the upstream read, as without resume), or, while no follower on this
 * replica does, as fast as it comes, to buffer what a resuming client will ask for (followers
 * on other replicas read the shared log, `src/redis/streams.ts`).
 *
 * How a stream and its followers behave (leaving, the grace period, memory) is in
 * `resumable-stream.ts`; what replicas tell each other, in `sharing.ts`.
 */
import { createHash, randomUUID } from "node:crypto";
import { GraphQLError } from "graphql";
import { ErrorCode } from "../error-codes.ts";
import type { ChatStream } from "../upstream/stream.ts";
import { relayChatStream, type StreamLimits } from "./relay.ts";
import { ResumableStream, type ResumeSettings, type StreamHooks } from "./resumable-stream.ts";
import type { Following, FollowRequest, StreamControl, StreamSharing } from "./sharing.ts";

export interface StartRequest {
  namespace: string;
  owner: string;
  limits: StreamLimits;
  /** The starting subscription's request signal. */
  signal?: AbortSignal;
  drain?: AbortSignal;
  /** Opens the upstream stream under `signal`, the stream's own (not the request's). */
  open(signal: AbortSignal): Promise<ChatStream>;
  /** Hands the subscription's client slot to the stream, which frees it when it ends. */
  adoptSlot?: () => (() => void) | undefined;
}

/** The error a resume or cancel of an unknown, expired or foreign stream gets. */
export function streamNotFound(): GraphQLError {
  return new GraphQLError("No such stream, or it has expired.", {
    extensions: { code: ErrorCode.STREAM_NOT_FOUND },
  });
}

/** The streams this replica holds (live, in their grace period, or finished and kept). */
export class StreamHub {
  readonly #streams = new Map<string, ResumableStream>();
  readonly #sharing: StreamSharing | undefined;
  /** One object for every stream: per stream, closures would be kept for its whole TTL. */
  readonly #hooks: StreamHooks;

  constructor(settings: ResumeSettings, sharing?: StreamSharing) {
    this.#sharing = sharing;
    this.#hooks = { settings, sharing, forget: (streamId) => this.#streams.delete(streamId) };
  }

  /** Streams held here by state, for a gauge. */
  counts(): { live: number; grace: number; finished: number } {
    const counts = { live: 0, grace: 0, finished: 0 };
    for (const stream of this.#streams.values()) counts[stream.state]++;
    return counts;
  }

  /**
   * Opens the upstream stream and follows it from its start. Failures before the first byte
   * reject here, as ordinary GraphQL errors. Until the upstream has answered nobody knows the
   * stream's id, so any end of the request then aborts it.
   */
  async start(request: StartRequest): Promise<Following> {
    const streamId = randomUUID();
    const { signal, owner } = request;
    // The request as the relay's `opening`, not its `subscriber`: the stream outlives it.
    const relay = await relayChatStream({
      streamId,
      namespace: request.namespace,
      limits: request.limits,
      opening: signal,
      drain: request.drain,
      open: request.open,
    });
    // Gone while the headers came: the relay ends at once, with nothing to keep.
    if (signal?.aborted) {
      void relay.return();
      return relay as Following;
    }
    const stream = new ResumableStream(streamId, owner, relay, request.adoptSlot?.(), this.#hooks);
    this.#streams.set(streamId, stream);
    this.#sharing?.open(streamId, owner);
    return stream.follow(-1, signal);
  }

  /** Follows a stream of `owner`'s after `afterSequence`: held here, or by another replica. */
  async follow(request: FollowRequest): Promise<Following> {
    const stream = this.#streams.get(request.streamId);
    if (stream) {
      if (stream.owner !== request.owner) throw streamNotFound();
      return stream.follow(request.afterSequence, request.signal);
    }
    const remote = await this.#sharing?.follow(request);
    if (!remote) throw streamNotFound();
    return remote;
  }

  /** Cancels a live stream of `owner`'s wherever it runs; false for any other id. */
  async cancel(streamId: string, owner: string): Promise<boolean> {
    const stream = this.#streams.get(streamId);
    if (stream) return stream.owner === owner && stream.cancel();
    return (await this.#sharing?.cancel(streamId, owner)) ?? false;
  }

  /** What other replicas' followers and cancellations do to the streams held here. */
  readonly control: StreamControl = {
    attach: (streamId) => this.#streams.get(streamId)?.attach(true),
    detach: (streamId, explicit) => this.#streams.get(streamId)?.detach(explicit, true),
    cancel: (streamId) => void this.#streams.get(streamId)?.cancel(),
  };

  /** Stops every timer and aborts what still runs; for the end of shutdown. */
  close(): void {
    for (const stream of [...this.#streams.values()]) stream.close();
    this.#streams.clear();
  }
}

/**
 * Who owns a stream: the client identity that rate limits key on and, in pass-through mode,
 * the Cloudflare token it called with, hashed, so two callers sharing an identity (one
 * address) but not a token cannot follow each other's answers.
 */
export function streamOwner(clientId: string, passThroughToken?: string): string {
  if (passThroughToken === undefined) return clientId;
  return `${clientId} ${createHash("sha256").update(passThroughToken).digest("hex").slice(0, 32)}`;
}
