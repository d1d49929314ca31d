/**
 * What graphql-jit gives back, made ordinary for the rest of the pipeline: its compile result
 * narrowed to a compiled query, and its errors turned into graphql-js' own. Shared by the
 * plugin's queries and mutations and by compiled subscription events (`compiled-events.ts`).
 */
import type {
  DocumentNode,
  ExecutionResult,
  GraphQLError,
  GraphQLSchema,
  Source,
  SourceLocation,
} from "graphql";
import { type CompiledQuery, isCompiledQuery } from "graphql-jit";
import { createGraphQLError } from "graphql-yoga";

/** graphql-jit's `compileQuery`, or a stand-in with its signature (a test counts calls). */
export type Compile = (
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  options: { disablingCapturingStackErrors: boolean },
) => CompiledQuery | ExecutionResult;

// The stacks of resolver errors are never shown to a client (see `maskError`).
export const COMPILE_OPTIONS = { disablingCapturingStackErrors: true };

export function compiledOrNone(result: CompiledQuery | ExecutionResult): CompiledQuery | undefined {
  return isCompiledQuery(result) ? result : undefined;
}

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

export function withOrdinaryErrors(
  result: ExecutionResult,
  document: DocumentNode,
): ExecutionResult {
  if (!result.errors?.length) return result;
  const source = document.loc?.source;
  return { ...result, errors: result.errors.map((error) => ordinaryError(error, source)) };
}
