import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
  type OperationDefinitionNode,
  type Source,
  type SourceLocation,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import { createGraphQLError, isAsyncIterable, type Plugin } from "graphql-yoga";

/** A document's compiled operations, by operation name ("" for the only one). */
type Compiled = Map<string, CompiledQuery | undefined>;

/**
 * Runs operations through graphql-jit, which compiles an operation once into a function instead
 * of walking its document on every request (about 30% of an operation's CPU) or, for a
 * subscription, on every event of its stream.
 *
 * A subscription's source stream is still opened by graphql-js (`createSourceEventStream`: the
 * variables coerced once, the root field's `subscribe` called, its failures located), and only
 * each event runs compiled, given the request's own variables: jit's own `subscribe` hands its
 * already coerced variables to every event, which coerces them again and refuses enum values
 * (`got invalid value "user"; Expected type ChatRole`). Unions reached by events need their own
 * `resolveType`: graphql-js' default resolver fails under jit.
 *
 * Compiled operations are kept per parsed document, which Yoga's parse cache reuses for the same
 * query text, so they live exactly as long as that cache keeps the document; the operation name
 * is part of the key, since one document may hold several. A document jit cannot compile runs
 * through graphql-js, which reports what is wrong with it as usual.
 */
/** The offsets in `source` of line/column `locations` (graphql-js counts lines as they are). */
function positionsIn(source: Source, locations: readonly SourceLocation[]): number[] {
  const lineStarts = [0];
  for (const match of source.body.matchAll(/\r\n|[\n\r]/g)) {
    lineStarts.push(match.index + match[0].length);
  }
  return locations.map(({ line, column }) => (lineStarts[line - 1] ?? 0) + column - 1);
}

/**
 * graphql-jit's error as graphql-js' own: jit's errors have read-only messages (which the
 * suggestion filter rewrites), no `extensions` object and no nodes, from which later handling
 * recomputes the locations; and Yoga reads an error's status only from errors of its own graphql
 * build. Only results with errors pay for this.
 */
function ordinaryError(error: GraphQLError, source: Source | undefined): GraphQLError {
  return createGraphQLError(error.message, {
    source,
    positions: source && error.locations ? positionsIn(source, error.locations) : undefined,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions,
  });
}

function withOrdinaryErrors(result: ExecutionResult, document: DocumentNode): ExecutionResult {
  if (!result.errors?.length) return result;
  const source = document.loc?.source;
  return { ...result, errors: result.errors.map((error) => ordinaryError(error, source)) };
}

export interface CompiledExecutionOptions {
  /**
   * The compiler; a test wraps it to count compilations.
   * @default graphql-jit's `compileQuery`
   */
  compile?: (
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | undefined,
    options: { disablingCapturingStackErrors: boolean },
  ) => CompiledQuery | ExecutionResult;
}

export function useCompiledExecution(options: CompiledExecutionOptions = {}): Plugin {
  const compile = options.compile ?? compileQuery;
  const byDocument = new WeakMap<DocumentNode, Compiled>();
  const compiledFor = (args: ExecutionArgs): CompiledQuery | undefined => {
    const name = args.operationName ?? "";
    let compiled = byDocument.get(args.document);
    if (compiled?.has(name)) return compiled.get(name);
    const result = compile(args.schema, args.document, args.operationName ?? undefined, {
      // The stacks of resolver errors are never shown to a client (see `maskError`).
      disablingCapturingStackErrors: true,
    });
    const query = isCompiledQuery(result) ? result : undefined;
    if (!compiled) {
      compiled = new Map();
      byDocument.set(args.document, compiled);
    }
    compiled.set(name, query);
    return query;
  };
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== "subscription") return;
      const query = compiledFor(args);
      if (!query) return;
      setSubscribeFn((call: ExecutionArgs) =>
        compiledSubscribe(call, operation, query, subscribeFn),
      );
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== "query" && operation?.operation !== "mutation") return;
      const query = compiledFor(args);
      if (!query) return;
      setExecuteFn(async (call: ExecutionArgs) => {
        const result = await query.query(call.rootValue, call.contextValue, call.variableValues);
        // No `data` at all: the variables did not coerce, and nothing ran. jit words that
        // without the scalar's own reason and without the error's HTTP status (400), so let
        // graphql-js refuse the request exactly as it would without jit; only refusals pay.
        if (!("data" in result)) return executeFn(call);
        return withOrdinaryErrors(result, call.document);
      });
    },
  };
}

type Subscribe = (args: ExecutionArgs) => unknown;

/**
 * A subscription whose events run compiled. Whatever is refused before the root field's
 * `subscribe` runs (variables that do not coerce, an operation graphql-js rejects) goes to
 * `refuse`, the pipeline's own subscribe function, so it is refused with its usual wording and
 * status, and every hook wrapping it (the observer's end) sees it: nothing has run yet.
 */
async function compiledSubscribe(
  call: ExecutionArgs,
  operation: OperationDefinitionNode,
  query: CompiledQuery,
  refuse: Subscribe,
): Promise<unknown> {
  const variables = call.variableValues ?? {};
  let source: Awaited<ReturnType<typeof createSourceEventStream>>;
  try {
    const coerced = getVariableValues(call.schema, operation.variableDefinitions ?? [], variables, {
      maxErrors: 50,
    });
    if (coerced.errors) return refuse(call);
    source = await createSourceEventStream(call);
  } catch {
    return refuse(call);
  }
  if (!isAsyncIterable(source)) return source;
  const { contextValue } = call;
  return new CompiledEvents(source[Symbol.asyncIterator](), operation, (payload) => {
    const result = query.query(payload, contextValue, variables);
    return isPromise(result)
      ? result.then((done) => eventResult(done, call, payload))
      : eventResult(result, call, payload);
  });
}

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as Promise<T> | undefined)?.then === "function";

/** One event's result, with graphql-js' errors; graphql-js runs the rare event jit refuses. */
function eventResult(
  result: ExecutionResult,
  call: ExecutionArgs,
  payload: unknown,
): ExecutionResult | Promise<ExecutionResult> {
  // No `data`: jit refused the variables graphql-js accepted (it words some checks apart).
  if (!("data" in result)) return execute({ ...call, rootValue: payload });
  return withOrdinaryErrors(result, call.document);
}

/**
 * The event stream mapped through `run`, one event at a time. Not a generator: `return()`
 * reaches the source at once instead of waiting behind a pending `next()`, so a subscriber who
 * leaves closes the upstream now rather than at its next event.
 */
class CompiledEvents implements AsyncIterableIterator<ExecutionResult> {
  readonly #source: AsyncIterator<unknown>;
  readonly #operation: OperationDefinitionNode;
  readonly #run: (payload: unknown) => ExecutionResult | Promise<ExecutionResult>;

  constructor(
    source: AsyncIterator<unknown>,
    operation: OperationDefinitionNode,
    run: (payload: unknown) => ExecutionResult | Promise<ExecutionResult>,
  ) {
    this.#source = source;
    this.#operation = operation;
    this.#run = run;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.#source.next().then(this.#map, this.#sourceFailed);
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.#source.return?.();
    return END;
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    if (this.#source.throw) await this.#source.throw(error);
    else await this.#source.return?.();
    throw error;
  }

  readonly #map = (
    read: IteratorResult<unknown>,
  ): IteratorResult<ExecutionResult> | Promise<IteratorResult<ExecutionResult>> => {
    if (read.done) return END;
    const result = this.#run(read.value);
    return isPromise(result) ? result.then(asEvent) : asEvent(result);
  };

  /** As graphql-js' subscribe reports a broken source: an error at the operation. */
  readonly #sourceFailed = (error: unknown): never => {
    const reason = error instanceof Error ? error : new Error(String(error));
    throw createGraphQLError(reason.message, { originalError: reason, nodes: [this.#operation] });
  };
}

const END: IteratorReturnResult<undefined> = { done: true, value: undefined };
const asEvent = (value: ExecutionResult): IteratorResult<ExecutionResult> => ({
  done: false,
  value,
});
