import { GraphQLError } from "graphql";
import { ErrorCode, isGraphQLError, toClientError } from "../graphql-errors.ts";

/** Resolvers and loaders may wrap the upstream error; the innermost one decides the code. */
function innermost(error: unknown): unknown {
  let current = error;
  while (isGraphQLError(current) && current.originalError) current = current.originalError;
  return current;
}

function located(error: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions,
  });
}

/**
 * Yoga's `maskError`: every error leaving the gateway gets a stable `extensions.code` and a
 * fixed message; upstream bodies, stacks and tokens never reach a client, in any environment.
 */
export function maskError(error: unknown): Error {
  const cause = innermost(error);
  if (isGraphQLError(error) && isGraphQLError(cause) && cause.extensions?.code === undefined) {
    // graphql-js' own errors (parse, validation, variable coercion) describe only the caller's
    // document, so their text is safe and useful; they just lack a code.
    return located(error, {
      ...error.extensions,
      code: error.extensions.code ?? ErrorCode.BAD_USER_INPUT,
    });
  }
  const client = toClientError(cause);
  return isGraphQLError(error) ? located(error, client.extensions) : client;
}
