import type { GraphQLError } from "graphql";
import { createGraphQLError } from "graphql-yoga";
import { ErrorCode } from "../error-codes.ts";

/** Codes (from the registry) of requests the gateway refuses before running anything. */
export type RefusalCode =
  | typeof ErrorCode.OPERATION_LIMIT_EXCEEDED
  | typeof ErrorCode.PERSISTED_QUERY_NOT_FOUND
  | typeof ErrorCode.PERSISTED_QUERY_ONLY
  | typeof ErrorCode.CSRF_PREVENTED
  | typeof ErrorCode.FORBIDDEN
  | typeof ErrorCode.REQUEST_ENTITY_TOO_LARGE;

const REFUSAL_CODES: ReadonlySet<unknown> = new Set<RefusalCode>([
  ErrorCode.OPERATION_LIMIT_EXCEEDED,
  ErrorCode.PERSISTED_QUERY_NOT_FOUND,
  ErrorCode.PERSISTED_QUERY_ONLY,
  ErrorCode.CSRF_PREVENTED,
  ErrorCode.FORBIDDEN,
  ErrorCode.REQUEST_ENTITY_TOO_LARGE,
]);

/**
 * A GraphQL error that refuses the whole request. Its HTTP status is pinned (`spec: false`):
 * under `accept: application/json` Yoga answers document errors with 200, as GraphQL over HTTP
 * asks for the sake of legacy clients, but a refusal should look like one to clients, proxies and
 * dashboards whatever the client accepts. Yoga strips `extensions.http` from HTTP responses.
 */
export function refusal(
  code: RefusalCode,
  message: string,
  status: number,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  // Yoga's factory, not `new GraphQLError`: it uses the graphql build Yoga and graphql-ws check
  // errors against with `instanceof`, which a bundler or test runner may not give this module.
  return createGraphQLError(message, {
    extensions: { ...extensions, code, http: { status, spec: false } },
  });
}

/**
 * Pins the status of refusals again. Yoga's parse hook marks every parse error as a
 * spec-governed one (`http.spec ||= true`), which would turn a refusal raised while parsing (the
 * token limit) back into a 200 under `application/json`.
 */
export function repinRefusals(errors: readonly unknown[] | undefined): void {
  for (const error of errors ?? []) {
    const extensions = (error as GraphQLError | undefined)?.extensions;
    const http = extensions?.http as { spec?: boolean } | undefined;
    if (http && REFUSAL_CODES.has(extensions?.code)) {
      http.spec = false;
    }
  }
}
