import {
  type ASTNode,
  BREAK,
  createSourceEventStream,
  type DocumentNode,
  defaultFieldResolver,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  type FieldNode,
  type GraphQLError,
  type GraphQLField,
  type GraphQLFieldConfig,
  GraphQLObjectType,
  GraphQLSchema,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  Kind,
  locatedError,
  type OperationDefinitionNode,
  type Source,
  type SourceLocation,
  visit,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import { createGraphQLError, isAsyncIterable, type Plugin } from "graphql-yoga";

/** A document's compiled operations, by operation name ("" for the only one). */
type Compiled<T> = Map<string, T | undefined>;

/**
 * Runs operations through graphql-jit, which compiles an operation once into a function instead
 * of walking its document on every request (about 30% of an operation's CPU) or, for a
 * subscription, on every event of its stream.
 *
 * A subscription's source stream is still opened by graphql-js (`createSourceEventStream`: the
 * root field's `subscribe` called, its failures located), and only
 * each event runs compiled, given the request's own variables: jit's own `subscribe` hands its
 * already coerced variables to every event, which coerces them again and refuses enum values
 * (`got invalid value "user"; Expected type ChatRole`). Unions reached by events need their own
 * `resolveType`: graphql-js' default resolver fails under jit. When nothing below the root field
 * reads a variable (the usual case), events do not coerce variables at all (see `EventPlan`).
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

type Compile = NonNullable<CompiledExecutionOptions["compile"]>;

// The stacks of resolver errors are never shown to a client (see `maskError`).
const COMPILE_OPTIONS = { disablingCapturingStackErrors: true };

/** `build()` for `args`' document and operation, once per parsed document and operation. */
function cacheBy<T>(
  cache: WeakMap<DocumentNode, Compiled<T>>,
  args: ExecutionArgs,
  build: () => T | undefined,
) {
  const name = args.operationName ?? "";
  let compiled = cache.get(args.document);
  if (compiled?.has(name)) return compiled.get(name);
  const built = build();
  if (!compiled) {
    compiled = new Map();
    cache.set(args.document, compiled);
  }
  compiled.set(name, built);
  return built;
}

function compiledOrNone(result: CompiledQuery | ExecutionResult): CompiledQuery | undefined {
  return isCompiledQuery(result) ? result : undefined;
}

export function useCompiledExecution(options: CompiledExecutionOptions = {}): Plugin {
  const compile = options.compile ?? compileQuery;
  const operations = new WeakMap<DocumentNode, Compiled<CompiledQuery>>();
  const subscriptions = new WeakMap<DocumentNode, Compiled<EventPlan>>();
  const compiledFor = (args: ExecutionArgs): CompiledQuery | undefined =>
    cacheBy(operations, args, () =>
      compiledOrNone(
        compile(args.schema, args.document, args.operationName ?? undefined, COMPILE_OPTIONS),
      ),
    );
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== "subscription") return;
      const plan = cacheBy(subscriptions, args, () => planEvents(args, operation, compile));
      if (!plan) return;
      setSubscribeFn((call: ExecutionArgs) =>
        compiledSubscribe(call, operation, plan, subscribeFn),
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
 * How a subscription's events run. jit coerces its variables on every call, and events would
 * pay that for the root field's arguments (a whole chat history, say), which only `subscribe`
 * needs. So when nothing below the root field reads a variable, events run a copy of the
 * operation without the root field's arguments or any variable, against a copy of the schema
 * whose root fields take none: their resolver gets the event and the arguments coerced once per
 * subscription from the event's root value (`EventRoot`). Otherwise events run the operation as
 * written, with the request's variables.
 */
interface EventPlan {
  query: CompiledQuery;
  /** Set when the root field's arguments come with each event: that field. */
  lifted?: {
    field: GraphQLField<unknown, unknown>;
    node: FieldNode;
    /** The operation without its variables and root arguments, against `eventSchemaOf`. */
    document: DocumentNode;
  };
}

/** An event's root value under a lifted plan. */
interface EventRoot {
  payload: unknown;
  args: Record<string, unknown>;
}

const NO_VARIABLES = Object.freeze({});

function planEvents(
  args: ExecutionArgs,
  operation: OperationDefinitionNode,
  compile: Compile,
): EventPlan | undefined {
  const { schema, document } = args;
  const name = args.operationName ?? undefined;
  const root = liftableRootField(document, operation);
  const field = root && schema.getSubscriptionType()?.getFields()[root.name.value];
  if (root && field) {
    const lifted = eventDocument(document, operation, root);
    const query = compiledOrNone(compile(eventSchemaOf(schema), lifted, name, COMPILE_OPTIONS));
    if (query) return { query, lifted: { field, node: root, document: lifted } };
  }
  const query = compiledOrNone(compile(schema, document, name, COMPILE_OPTIONS));
  return query && { query };
}

/** The root field, when it is the operation's only selection and nothing below reads a variable. */
function liftableRootField(
  document: DocumentNode,
  operation: OperationDefinitionNode,
): FieldNode | undefined {
  const [root, ...others] = operation.selectionSet.selections;
  if (root?.kind !== Kind.FIELD || others.length > 0 || root.directives?.length) return undefined;
  const below = [
    ...(root.selectionSet ? [root.selectionSet] : []),
    ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION),
  ];
  return below.some(readsVariable) ? undefined : root;
}

function readsVariable(node: ASTNode): boolean {
  let found = false;
  visit(node, {
    Variable() {
      found = true;
      return BREAK;
    },
  });
  return found;
}

/** `operation` with its root field's arguments and its variables gone. */
function eventDocument(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  root: FieldNode,
): DocumentNode {
  const lifted: OperationDefinitionNode = {
    ...operation,
    variableDefinitions: [],
    selectionSet: { ...operation.selectionSet, selections: [{ ...root, arguments: [] }] },
  };
  const definitions = document.definitions.map((d) => (d === operation ? lifted : d));
  return { ...document, definitions };
}

const eventSchemas = new WeakMap<GraphQLSchema, GraphQLSchema>();

/** `schema` whose subscription fields take no arguments and resolve an `EventRoot`. */
function eventSchemaOf(schema: GraphQLSchema): GraphQLSchema {
  const known = eventSchemas.get(schema);
  if (known) return known;
  const subscription = schema.getSubscriptionType()!;
  const { fields, ...root } = subscription.toConfig();
  const lifted = (
    field: GraphQLFieldConfig<unknown, unknown>,
  ): GraphQLFieldConfig<unknown, unknown> => {
    const resolve = field.resolve ?? defaultFieldResolver;
    return {
      ...field,
      args: {},
      subscribe: undefined,
      resolve: (event, _args, context, info) =>
        resolve((event as EventRoot).payload, (event as EventRoot).args, context, info),
    };
  };
  const { types, ...config } = schema.toConfig();
  const derived = new GraphQLSchema({
    ...config,
    subscription: new GraphQLObjectType({
      ...root,
      fields: Object.fromEntries(Object.entries(fields).map(([n, f]) => [n, lifted(f)])),
    }),
    types: types.filter((type) => type !== subscription),
  });
  eventSchemas.set(schema, derived);
  return derived;
}

/**
 * A subscription whose events run compiled. Whatever is refused before the root field's
 * `subscribe` runs (variables that do not coerce, an operation graphql-js rejects) goes to
 * `refuse`, the pipeline's own subscribe function, so it is refused with its usual wording and
 * status, and every hook wrapping it (the observer's end) sees it: nothing has run yet.
 */
async function compiledSubscribe(
  call: ExecutionArgs,
  operation: OperationDefinitionNode,
  { query, lifted }: EventPlan,
  refuse: Subscribe,
): Promise<unknown> {
  let variables = call.variableValues ?? {};
  let args: Record<string, unknown> | undefined;
  let source: Awaited<ReturnType<typeof createSourceEventStream>>;
  try {
    const coerced = getVariableValues(call.schema, operation.variableDefinitions ?? [], variables, {
      maxErrors: 50,
    });
    if (coerced.errors) return refuse(call);
    if (lifted) args = getArgumentValues(lifted.field, lifted.node, coerced.coerced);
  } catch {
    return refuse(call);
  }
  try {
    source = await createSourceEventStream(lifted ? liftedCall(call, lifted, args!) : call);
  } catch (error) {
    // graphql-js throws only for a root field whose resolver gave no stream: it has run, so it
    // is not asked again; the operation fails at that field.
    return { errors: [locatedError(error, operation.selectionSet.selections)] };
  }
  if (!isAsyncIterable(source)) return source;
  const { contextValue } = call;
  if (args) variables = NO_VARIABLES;
  return new CompiledEvents(source[Symbol.asyncIterator](), operation, (payload) => {
    const root = args ? ({ payload, args } satisfies EventRoot) : payload;
    const result = query.query(root, contextValue, variables);
    return isPromise(result)
      ? result.then((done) => eventResult(done, call, payload))
      : eventResult(result, call, payload);
  });
}

/**
 * The call that opens a lifted subscription's source stream with the arguments coerced above:
 * graphql-js would coerce every variable again (the whole input, ~10% of a stream's setup), so
 * it runs the lifted operation, which has none, and its root field's own `subscribe` gets them.
 * graphql-js still builds the field's `info` and locates its failures, from the same nodes. Only
 * that `info` differs: it comes from the lifted operation and schema (`eventSchemaOf`), as the
 * events' resolvers' does.
 */
function liftedCall(
  call: ExecutionArgs,
  lifted: NonNullable<EventPlan["lifted"]>,
  args: Record<string, unknown>,
): ExecutionArgs {
  const subscribe = lifted.field.subscribe ?? call.subscribeFieldResolver ?? defaultFieldResolver;
  return {
    ...call,
    schema: eventSchemaOf(call.schema),
    document: lifted.document,
    variableValues: NO_VARIABLES,
    // The lifted field has no `subscribe`, so graphql-js calls this.
    subscribeFieldResolver: (root, _none, context, info) => subscribe(root, args, context, info),
  };
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
