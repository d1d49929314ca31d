import { GraphQLError } from "graphql";
import { ErrorCode } from "../error-codes.ts";
import { innermostError, isGraphQLError, toClientError } from "../graphql-errors.ts";
import { UpstreamProtocolError } from "../upstream/errors.ts";

function located(
  error: GraphQLError,
  extensions: Record<string, unknown>,
  message = error.message,
): GraphQLError {
  return new GraphQLError(message, {
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
  // The innermost error decides the code.
  const cause = innermostError(error);
  if (isGraphQLError(error) && isGraphQLError(cause) && cause.extensions?.code === undefined) {
    if (error.path === undefined) {
      // graphql-js' errors before execution (parse, validation, variable coercion) describe
      // only the caller's document, so their text is safe and useful; they just lack a code.
      return located(error, {
        ...error.extensions,
        code: error.extensions.code ?? ErrorCode.BAD_USER_INPUT,
      });
    }
    // During execution, an uncoded GraphQL error is a value that would not serialize: upstream
    // data the schema cannot represent. Its text quotes that data, so it is replaced.
    const unusable = toClientError(new UpstreamProtocolError("unexpected-shape"));
    return located(error, unusable.extensions, unusable.message);
  }
  const client = toClientError(cause);
  return isGraphQLError(error) ? located(error, client.extensions, client.message) : client;
}
