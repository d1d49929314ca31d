/**
 * One view of "a GraphQL operation" over every path an operation can take: HTTP, SSE and
 * graphql-ws; refused at parse, at validation, by a plugin, or run to the end of its stream. One
 * plugin keeps one state machine per operation, wraps a stream once, and hands each step to its
 * sinks (logs, metrics, traces, drain). Each sink sees `onStart` then `onEnd` exactly once per
 * operation, so counts and spans always pair up.
 */
import { performance } from "node:perf_hooks";
import {
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
  getOperationAST,
} from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import { maskError } from "../errors.ts";
import { onIteratorEnd } from "../iterate.ts";
import { requestIdOf } from "../plugins/useRequestId.ts";
import { requestState } from "../request-state.ts";
import { webSocketOf } from "../server-context.ts";

export type Transport = "http" | "sse" | "ws";
export type OperationType = "query" | "mutation" | "subscription";

export interface ObservedOperation {
  readonly requestId: string;
  transport: Transport;
  /** The operation's name as written in the document; unset for anonymous operations. */
  name?: string;
  /** Unset when the document never parsed. */
  type?: OperationType;
  /** `performance.now()` when the request (HTTP) or its `subscribe` message (graphql-ws) arrived. */
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

/** What one concern (logs, metrics, traces, drain) does at each step of an operation's life. */
export interface OperationSink {
  onStart?(operation: ObservedOperation): void;
  /** Execution (or subscription) begins: the operation passed parse, validation and the gates. */
  onRun?(operation: ObservedOperation): void;
  /** A subscription's stream is live. */
  onStream?(operation: ObservedOperation): void;
  onEnd?(operation: ObservedOperation, end: OperationEnd): void;
  /**
   * An HTTP request to the GraphQL endpoint answered with an error status before any operation
   * could start (authentication, rate limit, CSRF, body or media type checks).
   */
  onRefused?(request: Request, response: Response, requestId: string): void;
  /**
   * Runs execution, and a subscription's setup, inside whatever `run` needs, e.g. with the
   * operation's span active so the upstream calls it makes become its children.
   */
  around?<T>(operation: ObservedOperation, run: () => T): T;
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

/** Each sink's hook of one kind, bound once, so a step costs a loop over the sinks that care. */
function hooksOf<K extends keyof OperationSink>(
  sinks: readonly OperationSink[],
  kind: K,
): NonNullable<OperationSink[K]>[] {
  return sinks.flatMap((sink) => {
    const hook = sink[kind];
    return hook ? [(hook as (...args: unknown[]) => unknown).bind(sink) as never] : [];
  });
}

/** A Yoga plugin reporting each operation's life to every sink in `sinks`. */
export function useOperationObserver(
  sinks: readonly OperationSink[],
  options: OperationObserverOptions = {},
): Plugin {
  const endpoint = options.graphqlEndpoint ?? "/graphql";
  const onStart = hooksOf(sinks, "onStart");
  const onRun = hooksOf(sinks, "onRun");
  const onStream = hooksOf(sinks, "onStream");
  const onEnd = hooksOf(sinks, "onEnd");
  const onRefused = hooksOf(sinks, "onRefused");
  const around = hooksOf(sinks, "around");
  const states = requestState<State>("observed operation");
  const arrivals = requestState<number>("arrived at");
  const operated = requestState<true>("operated");

  const stateOf = (envelopContext: object): State => {
    const context = envelopContext as Record<string, unknown>;
    let state = states.get(context);
    if (state) return state;
    // Every transport's operation carries a Fetch `Request` (graphql-ws: a normalised one).
    const request = context.request as Request | undefined;
    if (request) operated.set(request, true);
    state = {
      operation: {
        requestId: requestIdOf(request),
        transport: webSocketOf(context) ? "ws" : "http",
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
    for (const hook of onStart) hook(state.operation);
  };

  const run = (state: State) => {
    start(state);
    if (state.ran) return;
    state.ran = true;
    for (const hook of onRun) hook(state.operation);
  };

  const end = (state: State, errors: readonly unknown[] = [], fallbackCode?: string) => {
    if (state.ended) return;
    start(state);
    state.ended = true;
    state.errors.push(...errors);
    const codes = [...new Set(state.errors.map((error) => codeOf(error, fallbackCode)))];
    const summary: OperationEnd = {
      durationMs: performance.now() - state.operation.startedAt,
      outcome: codes[0] ?? "ok",
      codes,
      errors: state.errors,
      streamed: state.streaming,
      events: state.events,
    };
    for (const hook of onEnd) hook(state.operation, summary);
  };

  // A streamed operation ends with its stream, not when execution hands the stream over.
  const watch = <T>(state: State, stream: AsyncIterable<T>) => {
    state.streaming = true;
    for (const hook of onStream) hook(state.operation);
    return onIteratorEnd(stream, {
      onValue: (value) => {
        state.events++;
        const { errors } = value as ExecutionResult;
        if (errors) state.errors.push(...errors);
      },
      onEnd: (error) => end(state, error === undefined ? [] : [error]),
    });
  };

  /**
   * `run`, ending the operation when it throws: a throwing execute or subscribe function skips
   * every result hook, which would leave the operation open.
   */
  const ending =
    <A, R>(state: State, run: (args: A) => R) =>
    async (args: A): Promise<Awaited<R>> => {
      try {
        return await run(args);
      } catch (error) {
        end(state, [error]);
        throw error;
      }
    };

  /** What execution handed over: a stream ends with its stream, a result at once. */
  const settle = (
    state: State,
    result: ExecutionResult | AsyncIterable<ExecutionResult>,
    setResult: (result: AsyncIterableIterator<ExecutionResult>) => void,
  ) => {
    if (isAsyncIterable(result)) setResult(watch(state, result));
    else end(state, result.errors);
  };

  /** `wrapped` inside every sink's `around`, first sink outermost. */
  const within = <T>(context: unknown, wrapped: () => T): T => {
    const { operation } = stateOf(context as object);
    return around.reduceRight<() => T>((inner, hook) => () => hook(operation, inner), wrapped)();
  };

  const plugin: Plugin = {
    onRequest({ request }) {
      arrivals.set(request, performance.now());
    },
    // A graphql-ws operation skips `onRequest`: its clock starts at its first hook.
    onParams({ request }) {
      if (!arrivals.has(request)) arrivals.set(request, performance.now());
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
      setExecuteFn(ending(state, executeFn));
      return {
        onExecuteDone: ({ result, setResult }) => settle(state, result, setResult),
      };
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const state = stateOf(args.contextValue);
      run(state);
      setSubscribeFn(ending(state, subscribeFn));
      return {
        onSubscribeResult: ({ result, setResult }) => settle(state, result, setResult),
      };
    },
    // Catches what ended without reaching execution, e.g. the context factory or a
    // subscription cap refusing the operation while its context was built.
    onExecutionResult({ result, context }) {
      if (isAsyncIterable(result)) return;
      const state = stateOf(context);
      if (!state.streaming) end(state, (result as ExecutionResult).errors);
    },
    onResponse({ request, response }) {
      if (onRefused.length === 0) return;
      if (operated.has(request) || response.status < 400) return;
      if (new URL(request.url).pathname !== endpoint) return;
      const requestId = requestIdOf(request);
      for (const hook of onRefused) hook(request, response, requestId);
    },
  };
  // Resolvers, loaders and a subscription's setup run inside these, so async context carries
  // whatever the sinks set up (the operation's span) to every upstream call they make. Only
  // when a sink has an `around` (tracing): each instrumentation wraps every execution in one
  // more layer of closures and promises, for nothing otherwise.
  if (around.length > 0) {
    plugin.instrumentation = {
      execute: ({ context }, wrapped) => within(context, wrapped),
      subscribe: ({ context }, wrapped) => within(context, wrapped),
    };
  }
  return plugin;
}
