import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import { requestState } from "../request-state.ts";
import { graphqlErrorBody, jsonResponse } from "../responses.ts";
import type { Drain } from "../transports/shutdown.ts";

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

const shuttingDown = () =>
  new GraphQLError(SHUTTING_DOWN_MESSAGE, {
    extensions: { code: ErrorCode.SHUTTING_DOWN, retryable: true },
  });

/**
 * The request side of graceful shutdown (see `shutdown.ts`): while draining, readiness fails,
 * and a request that arrives is refused with `SHUTTING_DOWN`; one admitted before the drain
 * began is left to finish (`drainSink` counts graphql-ws operations so the drain waits for them).
 *
 * An HTTP request is judged in `onRequest`: a 503 with `connection: close`, so a client's
 * keep-alive socket moves to an instance that is staying. A graphql-ws operation skips
 * `onRequest` and is judged in `onParams`, its first hook; it is refused when it would start
 * executing, so a socket gets the refusal as the operation's result (a `next` message, as a
 * live stream's final `SHUTTING_DOWN` event is), and its socket is closed with the others.
 */
export function useGracefulShutdown(options: GracefulShutdownOptions): Plugin {
  const { drain } = options;
  const readyPath = options.readyPath ?? "/readyz";
  const endpoint = options.graphqlEndpoint ?? "/graphql";
  const refuse = (body: object) => jsonResponse(503, body, { connection: "close" });
  /** Whether each request arrived before the drain began, decided the first time it is seen. */
  const admitted = requestState<boolean>("admitted before the drain");
  const admit = (request: Request) => {
    let verdict = admitted.get(request);
    if (verdict === undefined) {
      verdict = !drain.draining;
      admitted.set(request, verdict);
    }
    return verdict;
  };
  const stopIfLate = (context: unknown, stop: (result: { errors: GraphQLError[] }) => void) => {
    const { request } = context as { request?: Request };
    if (request && !admit(request)) stop({ errors: [shuttingDown()] });
  };

  return {
    onRequest({ request, url, endResponse }) {
      if (url.pathname === readyPath) {
        if (drain.draining) endResponse(refuse({ status: "draining" }));
      } else if (url.pathname === endpoint && !admit(request)) {
        endResponse(refuse(graphqlErrorBody(ErrorCode.SHUTTING_DOWN, SHUTTING_DOWN_MESSAGE)));
      }
    },
    onParams({ request }) {
      admit(request);
    },
    onExecute({ args, setResultAndStopExecution }) {
      stopIfLate(args.contextValue, setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      stopIfLate(args.contextValue, setResultAndStopExecution);
    },
  };
}
