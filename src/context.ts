import type { Context } from "./builder.ts";
import { createLoaders } from "./loaders.ts";
import type { AiSearchClient, CallOptions } from "./upstream/client.ts";

/** A fresh context per operation: its loaders' caches must never outlive it or cross callers. */
export function createContext(upstream: AiSearchClient, call: CallOptions): Context {
  return { upstream, call, loaders: createLoaders(upstream, call) };
}
