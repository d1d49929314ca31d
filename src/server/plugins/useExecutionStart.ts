import type { Plugin } from "graphql-yoga";
import { requestState } from "../request-state.ts";

const started = requestState<true>("execution started");

/**
 * Whether execution (or subscribing) began for the operation of `context`. Everything Yoga
 * answers before that is a refusal of the request (parse, validation, limits, caps), which the
 * graphql-ws transport sends as an `error` message; what execution yields goes out as `next`,
 * as graphql-ws itself does.
 */
export function executionStarted(context: object): boolean {
  return started.has(context);
}

/**
 * Marks when an operation's execution begins. Instrumentation wraps envelop's `execute` and
 * `subscribe` outside every plugin's hooks, so the mark does not depend on where this plugin
 * sits: a plugin stopping execution from `onExecute` has already been counted as execution.
 */
export function useExecutionStart(): Plugin {
  const mark = <T>(context: unknown, wrapped: () => T): T => {
    if (typeof context === "object" && context !== null) started.set(context, true);
    return wrapped();
  };
  return {
    instrumentation: {
      execute: ({ context }, wrapped) => mark(context, wrapped),
      subscribe: ({ context }, wrapped) => mark(context, wrapped),
    },
  };
}
