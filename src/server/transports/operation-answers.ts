/**
 * Yoga's answer to a graphql-ws operation in graphql-ws' terms: the stand-in operation that
 * hands the answer over as it is, and refusals as an `error` message carries them.
 */
import {
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLError,
  Kind,
  OperationTypeNode,
} from "graphql";
import { createGraphQLError, type YogaServerInstance } from "graphql-yoga";

/**
 * What graphql-ws is told to run once Yoga has answered: one anonymous operation, whose result
 * is the one held in `rootValue` (see `resultOf`). graphql-ws only reads the document to pick
 * `execute` or `subscribe`, which here do the same.
 */
export const ANSWERED: DocumentNode = {
  kind: Kind.DOCUMENT,
  definitions: [
    {
      kind: Kind.OPERATION_DEFINITION,
      operation: OperationTypeNode.QUERY,
      selectionSet: { kind: Kind.SELECTION_SET, selections: [] },
    },
  ],
};

export type Answer = NonNullable<
  Awaited<ReturnType<YogaServerInstance<object, object>["getResultForParams"]>>
>;
export const resultOf = (args: ExecutionArgs) =>
  (args.rootValue as { answer: Answer }).answer as never;

/**
 * Errors as graphql-ws sends them in an `error` message: created by Yoga's factory, since
 * graphql-ws accepts only errors of the graphql build it imports itself, and without
 * `extensions.http`, Yoga's status hint, meaningless on a socket.
 */
export function toSocketErrors(errors: readonly unknown[]): GraphQLError[] {
  return errors.map((raw) => {
    const error = raw as GraphQLError;
    const { http: _http, ...extensions } = error.extensions ?? {};
    return createGraphQLError(error.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions,
    });
  });
}
