import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { ErrorCode } from "../error-codes.ts";
import { useOperationObserver } from "./operation-observer.ts";
import { graphqlErrorBody, jsonResponse } from "./responses.ts";
import type { Drain } from "./shutdown.ts";

export interface GracefulShutdownOptions {
  drain: Drain;
  /**
   * The readiness path, answered 503 while draining so load balancers stop routing here.
   * Place this plugin before `useHealth`, which would otherwise answer it.
   * @default "/readyz"
   */
  readyPath?: string;
  /**
   * The GraphQL endpoint, refused while draining.
   * @default "/graphql"
   */
  graphqlEndpoint?: string;
}

const SHUTTING_DOWN_MESSAGE = "The gateway is shutting down; retry on another connection.";

export const shuttingDown = () =>
  new GraphQLError(SHUTTING_DOWN_MESSAGE, {
    extensions: { code: ErrorCode.SHUTTING_DOWN, retryable: true },
  });

/**
 * The request side of graceful shutdown (see `shutdown.ts`): while draining, readiness fails
 * and new requests on connections still open are refused (and their connection closed), as are
 * new operations on open WebSockets. Operations already running are left to
 * finish; graphql-ws ones are counted so the drain can wait for them.
 */
export function useGracefulShutdown(options: GracefulShutdownOptions): Plugin {
  const { drain } = options;
  const readyPath = options.readyPath ?? "/readyz";
  const endpoint = options.graphqlEndpoint ?? "/graphql";
  // `connection: close` so a client's keep-alive socket moves to an instance that is staying.
  const refuse = (body: object) => jsonResponse(503, body, { connection: "close" });

  // HTTP requests are counted by the server; only graphql-ws operations need counting here.
  const leaves = new WeakMap<object, () => void>();
  const counter = useOperationObserver({
    onRun(operation) {
      if (operation.transport === "ws") leaves.set(operation.context, drain.enter());
    },
    onEnd(operation) {
      leaves.get(operation.context)?.();
    },
  });

  const refuseOnSocket = (
    context: unknown,
    refuse: (result: { errors: GraphQLError[] }) => void,
  ) => {
    // Over HTTP the request was admitted before the drain began, so it may finish.
    if (drain.draining && !(context as { request?: Request }).request) {
      refuse({ errors: [shuttingDown()] });
    }
  };

  return {
    onPluginInit({ addPlugin }) {
      addPlugin(counter);
    },
    onRequest({ url, endResponse }) {
      if (!drain.draining) return;
      if (url.pathname === readyPath) endResponse(refuse({ status: "draining" }));
      else if (url.pathname === endpoint) {
        endResponse(refuse(graphqlErrorBody(ErrorCode.SHUTTING_DOWN, SHUTTING_DOWN_MESSAGE)));
      }
    },
    onExecute({ args, setResultAndStopExecution }) {
      refuseOnSocket(args.contextValue, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      refuseOnSocket(args.contextValue, setResultAndStopExecution);
    },
  };
}
