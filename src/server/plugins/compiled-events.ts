/**
 * A subscription run by graphql-jit event by event (see `useCompiledExecution`): the plan for its
 * events, made once per document and operation, and the subscribe function that opens its source
 * stream through graphql-js and runs each event compiled.
 */
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
  type GraphQLField,
  type GraphQLFieldConfig,
  GraphQLObjectType,
  GraphQLSchema,
  getArgumentValues,
  getVariableValues,
  Kind,
  locatedError,
  type OperationDefinitionNode,
  visit,
} from "graphql";
import type { CompiledQuery } from "graphql-jit";
import { createGraphQLError, isAsyncIterable } from "graphql-yoga";
import {
  COMPILE_OPTIONS,
  type Compile,
  compiledOrNone,
  withOrdinaryErrors,
} from "./jit-results.ts";

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
export interface EventPlan {
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

export function planEvents(
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
export async function compiledSubscribe(
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
