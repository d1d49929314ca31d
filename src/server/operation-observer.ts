/**
 * One view of "a GraphQL operation" for the observability plugins (logs, metrics, traces), over
 * every path an operation can take: HTTP, SSE and graphql-ws; refused at parse, at validation,
 * by a plugin, or run to the end of its stream. Each observer sees `onStart` then `onEnd`
 * exactly once per operation, so counts and spans always pair up.
 */
import { performance } from "node:perf_hooks";
import {
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
  getOperationAST,
} from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../error-codes.ts";
import { maskError } from "./errors.ts";
import { onIteratorEnd } from "./iterate.ts";
import { requestIdOf } from "./useRequestId.ts";

export type Transport = "http" | "sse" | "ws";
export type OperationType = "query" | "mutation" | "subscription";

export interface ObservedOperation {
  readonly requestId: string;
  transport: Transport;
  /** The operation's name as written in the document; unset for anonymous operations. */
  name?: string;
  /** Unset when the document never parsed. */
  type?: OperationType;
  /** `performance.now()` when the request (HTTP) or the subscribe message (graphql-ws) arrived. */
  readonly startedAt: number;
  /** Envelop's context of the operation: the same object from parse to the end of a stream. */
  readonly context: Record<string, unknown>;
}

export interface OperationEnd {
  durationMs: number;
  /** `ok`, or the code of the first error. */
  outcome: string;
  /** Distinct `extensions.code` values of the errors, in order of appearance. */
  codes: string[];
  /** The errors as raised, before masking: for the logs only, never for a client. */
  errors: readonly unknown[];
  /** Whether the operation opened a stream (`onStream` was called). */
  streamed: boolean;
  /** Results a stream delivered. */
  events: number;
}

export interface OperationObserver {
  onStart?(operation: ObservedOperation): void;
  /** Execution (or subscription) begins: the operation passed parse, validation and the gates. */
  onRun?(operation: ObservedOperation): void;
  /** A subscription's stream is live. */
  onStream?(operation: ObservedOperation): void;
  onEvent?(operation: ObservedOperation, result: ExecutionResult): void;
  onEnd?(operation: ObservedOperation, end: OperationEnd): void;
  /**
   * An HTTP request to the GraphQL endpoint answered with an error status before any operation
   * could start (authentication, rate limit, CSRF, body or media type checks).
   */
  onRefused?(request: Request, response: Response, requestId: string): void;
}

interface State {
  operation: ObservedOperation;
  started: boolean;
  ran: boolean;
  ended: boolean;
  streaming: boolean;
  errors: unknown[];
  events: number;
}

// Yoga's and graphql-ws' own codes for documents that fail graphql-js' parse or validation.
const PARSE_FAILED = ErrorCode.GRAPHQL_PARSE_FAILED;
const VALIDATION_FAILED = ErrorCode.GRAPHQL_VALIDATION_FAILED;

/** The code a client sees for `error`; `fallback` for graphql-js errors of a known phase. */
export function codeOf(error: unknown, fallback?: string): string {
  const own = (error as Partial<GraphQLError> | undefined)?.extensions?.code;
  if (typeof own === "string") return own;
  if (fallback) return fallback;
  const masked = maskError(error) as Partial<GraphQLError>;
  const code = masked.extensions?.code;
  return typeof code === "string" ? code : ErrorCode.INTERNAL_SERVER_ERROR;
}

export interface OperationObserverOptions {
  /**
   * The GraphQL endpoint; refusals on other paths (probes, metrics) are not reported.
   * @default "/graphql"
   */
  graphqlEndpoint?: string;
}

/** A Yoga plugin reporting each operation's life to `observer`. */
export function useOperationObserver(
  observer: OperationObserver,
  options: OperationObserverOptions = {},
): Plugin {
  const endpoint = options.graphqlEndpoint ?? "/graphql";
  const states = new WeakMap<object, State>();
  const arrivals = new WeakMap<Request, number>();
  const operated = new WeakSet<Request>();

  const stateOf = (envelopContext: object): State => {
    const context = envelopContext as Record<string, unknown>;
    let state = states.get(context);
    if (state) return state;
    const request = context.request as Request | undefined;
    if (request) operated.add(request);
    state = {
      operation: {
        requestId:
          (context.requestId as string | undefined) ??
          (context.call as { requestId?: string } | undefined)?.requestId ??
          requestIdOf(request),
        transport: request ? "http" : "ws",
        startedAt: (request && arrivals.get(request)) ?? performance.now(),
        context,
      },
      started: false,
      ran: false,
      ended: false,
      streaming: false,
      errors: [],
      events: 0,
    };
    states.set(context, state);
    return state;
  };

  const identify = (state: State, document: DocumentNode) => {
    const params = state.operation.context.params as { operationName?: string | null } | undefined;
    const definition = getOperationAST(document, params?.operationName ?? undefined);
    if (!definition) return;
    state.operation.type = definition.operation as OperationType;
    state.operation.name = definition.name?.value;
    if (state.operation.transport === "http" && definition.operation === "subscription") {
      state.operation.transport = "sse";
    }
  };

  const start = (state: State) => {
    if (state.started) return;
    state.started = true;
    observer.onStart?.(state.operation);
  };

  const run = (state: State) => {
    start(state);
    if (state.ran) return;
    state.ran = true;
    observer.onRun?.(state.operation);
  };

  const end = (state: State, errors: readonly unknown[] = [], fallbackCode?: string) => {
    if (state.ended) return;
    start(state);
    state.ended = true;
    state.errors.push(...errors);
    const codes = [...new Set(state.errors.map((error) => codeOf(error, fallbackCode)))];
    observer.onEnd?.(state.operation, {
      durationMs: performance.now() - state.operation.startedAt,
      outcome: codes[0] ?? "ok",
      codes,
      errors: state.errors,
      streamed: state.streaming,
      events: state.events,
    });
  };

  const onResult = (state: State, result: ExecutionResult) => {
    state.events++;
    if (result.errors) state.errors.push(...result.errors);
    observer.onEvent?.(state.operation, result);
  };

  // A streamed operation ends with its stream, not when execution hands the stream over.
  const watch = <T>(state: State, stream: AsyncIterable<T>) => {
    state.streaming = true;
    observer.onStream?.(state.operation);
    return onIteratorEnd(stream, {
      onValue: (value) => onResult(state, value as ExecutionResult),
      onEnd: (error) => end(state, error === undefined ? [] : [error]),
    });
  };

  return {
    onRequest({ request }) {
      arrivals.set(request, performance.now());
    },
    onParse({ context }) {
      const state = stateOf(context);
      return ({ result }) => {
        if (result instanceof Error) {
          end(state, [result], PARSE_FAILED);
          return;
        }
        if (result) identify(state, result);
        start(state);
      };
    },
    onValidate({ context }) {
      const state = stateOf(context);
      return ({ valid, result }) => {
        if (!valid) end(state, result, VALIDATION_FAILED);
      };
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const state = stateOf(args.contextValue);
      run(state);
      // An execute function that throws skips every result hook; this keeps the pairing.
      setExecuteFn(async (executeArgs) => {
        try {
          return await executeFn(executeArgs);
        } catch (error) {
          end(state, [error]);
          throw error;
        }
      });
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) {
            setResult(watch(state, result) as typeof result);
          } else {
            end(state, result.errors);
          }
        },
      };
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const state = stateOf(args.contextValue);
      run(state);
      // A subscribe function that throws skips every result hook; this keeps the pairing.
      setSubscribeFn(async (subscribeArgs) => {
        try {
          return await subscribeFn(subscribeArgs);
        } catch (error) {
          end(state, [error]);
          throw error;
        }
      });
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) {
            end(state, (result as ExecutionResult).errors);
            return;
          }
          setResult(watch(state, result));
        },
      };
    },
    // HTTP only: catches what ended without reaching execution, e.g. a context factory or an
    // `onParams` hook refusing the operation.
    onExecutionResult({ result, context }) {
      if (isAsyncIterable(result)) return;
      const state = stateOf(context);
      if (!state.streaming) end(state, (result as ExecutionResult).errors);
    },
    onResponse({ request, response }) {
      if (operated.has(request) || response.status < 400) return;
      if (new URL(request.url).pathname !== endpoint) return;
      observer.onRefused?.(request, response, requestIdOf(request));
    },
  };
}
