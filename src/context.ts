import type { Context } from "./builder.ts";
import { createLoaders } from "./loaders.ts";
import type { ClientIdentity } from "./server/client-auth.ts";
import type { AiSearchClient } from "./upstream/client.ts";
import type { CallOptions } from "./upstream/options.ts";

/** A fresh context per operation: its loaders' caches must never outlive it or cross callers. */
export function createContext(
  upstream: AiSearchClient,
  call: CallOptions,
  client: ClientIdentity,
): Context {
  return { upstream, call, client, loaders: createLoaders(upstream, call) };
}
