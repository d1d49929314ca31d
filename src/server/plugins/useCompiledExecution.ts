import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  type Source,
  type SourceLocation,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import { createGraphQLError, type Plugin } from "graphql-yoga";

/** A document's compiled operations, by operation name ("" for the only one). */
type Compiled = Map<string, CompiledQuery | undefined>;

/**
 * Runs queries and mutations through graphql-jit, which compiles an operation once into a
 * function instead of walking its document on every request (about 30% of an operation's CPU).
 *
 * Subscriptions keep graphql-js: this plugin hooks `onExecute` only, never `onSubscribe`. Under
 * jit every stream event failed (jit re-coerces the already coerced variables per event, and
 * resolves the event union without the abstract type graphql-js's default resolver needs), and
 * those operations never ended, so shutdown waited on them.
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
