import type { GraphQLError } from "graphql";
import { createGraphQLError } from "graphql-yoga";

/**
 * Codes for requests the gateway refuses before running anything. Stable: clients and dashboards
 * key on them.
 */
export const RefusalCode = {
  /** Depth, aliases, directives, tokens or cost over the configured limit. */
  OPERATION_LIMIT_EXCEEDED: "OPERATION_LIMIT_EXCEEDED",
  /** A persisted document id the manifest does not know. */
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
  /** Document text sent while only persisted documents are accepted. */
  PERSISTED_QUERY_ONLY: "PERSISTED_QUERY_ONLY",
  /** A POST a browser could have sent cross-site without a CORS preflight. */
  CSRF_PREVENTED: "CSRF_PREVENTED",
} as const;

export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

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
    if (http && Object.values(RefusalCode).includes(extensions?.code as RefusalCode)) {
      http.spec = false;
    }
  }
}
