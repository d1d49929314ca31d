import type { Context } from "./builder.ts";
import { createLoaders, type LoaderBatchObserver } from "./loaders.ts";
import type { ClientIdentity } from "./server/client-auth.ts";
import type { StreamLimits } from "./streams/relay.ts";
import type { AiSearchClient } from "./upstream/client.ts";
import type { CallOptions } from "./upstream/options.ts";

/** A fresh context per operation: its loaders' caches must never outlive it or cross callers. */
export function createContext(
  upstream: AiSearchClient,
  call: CallOptions,
  client: ClientIdentity,
  stream: StreamLimits,
  lifecycle: { shutdown?: AbortSignal; onLoaderBatch?: LoaderBatchObserver } = {},
): Context {
  const loaders = createLoaders(upstream, call, lifecycle.onLoaderBatch);
  return { upstream, call, client, stream, shutdown: lifecycle.shutdown, loaders };
}
