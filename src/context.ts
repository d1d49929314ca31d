import { createLoaders, type LoaderBatchObserver, type Loaders } from "./loaders.ts";
import { ProgressHub } from "./progress/hub.ts";
import type { ClientIdentity } from "./server/policy/client-auth.ts";
import type { StreamHub } from "./streams/hub.ts";
import type { StreamLimits } from "./streams/relay.ts";
import type { BoundAiSearchClient } from "./upstream/client.ts";

/**
 * What every resolver sees. Built fresh for each operation, so nothing here leaks between
 * callers. The upstream client is already bound to the caller (credentials, signal, request id):
 * no resolver can reach an unbound one, so none can forget the caller's token.
 */
export interface Context {
  upstream: BoundAiSearchClient;
  /** Loaders over `upstream`, caching for this operation only. */
  loaders: Loaders;
  /** Who is calling (key id, JWT subject or address); what rate limits and caps key on. */
  client: ClientIdentity;
  streamLimits: StreamLimits;
  /** Aborted when the gateway begins shutting down: live streams end with `SHUTTING_DOWN`. */
  drainSignal?: AbortSignal;
  /** The resumable streams (shared with other replicas when Redis is configured). */
  streams: StreamHub;
  /**
   * Who may resume or cancel the streams this operation starts: the client identity, plus a
   * hash of the pass-through credential when that mode is on. Never a secret.
   */
  streamOwner: string;
  /**
   * The same binding as `upstream` (credentials, request id) under another signal, for a
   * stream that outlives its request: a dropped connection may resume it.
   */
  upstreamUnder(signal: AbortSignal): BoundAiSearchClient;
  /** Set for a subscription holding a per-client slot (`useSubscriptionCaps`). */
  subscriptionSlot?: SubscriptionSlot;
  /** The app's indexing-progress pollers, shared by every operation (never across credentials). */
  progress: ProgressHub;
}

/** A subscription's per-client slot, which a stream may take over to hold past its request. */
export interface SubscriptionSlot {
  /** The slot's release, now the caller's to call once; undefined if already released. */
  adopt(): (() => void) | undefined;
}

export interface ContextOptions {
  /** The operation's client: `AiSearchClient.withCall({ credentials, signal, requestId })`. */
  upstream: BoundAiSearchClient;
  client: ClientIdentity;
  streamLimits: StreamLimits;
  /** @default undefined (streams end only for their own reasons) */
  drainSignal?: AbortSignal;
  /** Told the size of each loader batch, e.g. for a metric. @default undefined */
  onLoaderBatch?: LoaderBatchObserver;
  streams: StreamHub;
  streamOwner: string;
  upstreamUnder(signal: AbortSignal): BoundAiSearchClient;
  /** The app's pollers; @default a hub of this operation's own (shares nothing) */
  progress?: ProgressHub;
}

/** A fresh context per operation: its loaders' caches must never outlive it or cross callers. */
export function createContext(options: ContextOptions): Context {
  const { upstream, client, streamLimits, drainSignal, onLoaderBatch } = options;
  return {
    upstream,
    loaders: createLoaders(upstream, onLoaderBatch),
    client,
    streamLimits,
    drainSignal,
    streams: options.streams,
    streamOwner: options.streamOwner,
    upstreamUnder: options.upstreamUnder,
    progress: options.progress ?? new ProgressHub(),
  };
}
