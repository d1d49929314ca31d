import type { Drain } from "../transports/shutdown.ts";
import type { ObservedOperation, OperationSink } from "./operation-observer.ts";

/**
 * Counts graphql-ws operations while they run, so a drain waits for them as it waits for HTTP
 * requests, which the HTTP server counts itself (a socket carries many operations, and is
 * closed only once they are done).
 */
export function drainSink(drain: Drain): OperationSink {
  const leaves = new WeakMap<ObservedOperation, () => void>();
  return {
    onRun(operation) {
      if (operation.transport === "ws") leaves.set(operation, drain.enter());
    },
    onEnd(operation) {
      leaves.get(operation)?.();
    },
  };
}
