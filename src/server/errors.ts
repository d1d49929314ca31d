import type { GraphQLError } from "graphql";
import { createGraphQLError } from "graphql-yoga";
import { ErrorCode } from "../error-codes.ts";
import { innermostError, isGraphQLError, toClientError } from "../graphql-errors.ts";
import { UpstreamProtocolError } from "../upstream/errors.ts";

/**
 * `error`'s location with a new message and extensions. Yoga's factory, not `new GraphQLError`:
 * Yoga reads an error's `extensions.http` (its status) only from errors of the graphql build it
 * imports itself, which a test runner or bundler may not give this module.
 */
function located(
  error: GraphQLError,
  extensions: Record<string, unknown>,
  message = error.message,
): GraphQLError {
  return createGraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions,
  });
}

/**
 * Extensions libraries attach for debugging that quote what they caught: Yoga's JSON body
 * parser puts the parser's message, with a piece of the body, in `originalError`.
 */
const DEBUG_EXTENSIONS = ["originalError", "stack"];

/** Yoga's request refusals whose text quotes the request, with the fixed text sent instead. */
const QUOTING_MESSAGES: readonly [RegExp, string][] = [
  [
    /^Unexpected parameter ".*" in the request body\.$/s,
    "The request body has an unexpected parameter.",
  ],
];

function fixedMessage(message: string): string {
  return QUOTING_MESSAGES.find(([pattern]) => pattern.test(message))?.[1] ?? message;
}

/** `extensions` without the debugging ones; the same object when it has none. */
function publicExtensions(extensions: Record<string, unknown>): Record<string, unknown> {
  if (!DEBUG_EXTENSIONS.some((key) => key in extensions)) return extensions;
  const kept = { ...extensions };
  for (const key of DEBUG_EXTENSIONS) delete kept[key];
  // Yoga answers a body that is not JSON with its 400, even under `accept: application/json`,
  // only because of the `originalError` dropped here; pinning the status keeps that answer.
  const http = kept.http as Record<string, unknown> | undefined;
  if (http) kept.http = { ...http, spec: false };
  return kept;
}

/**
 * Yoga's `maskError`: every error leaving the gateway gets a stable `extensions.code` and a
 * fixed message; upstream bodies, parser messages, pieces of the request, stacks and tokens
 * never reach a client, in any environment.
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
  const extensions = publicExtensions(client.extensions);
  const message = fixedMessage(client.message);
  if (isGraphQLError(error)) return located(error, extensions, message);
  if (extensions === client.extensions && message === client.message) return client;
  return located(client, extensions, message);
}
