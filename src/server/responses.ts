/**
 * The JSON bodies the gateway answers with itself, outside GraphQL execution: probes, and
 * requests refused before Yoga runs them.
 */

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/**
 * `body` as JSON. Never cached: each of these answers describes this instant (a refusal, a
 * probe), and a cache replaying one would answer for a moment that has passed.
 */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": JSON_CONTENT_TYPE, "cache-control": "no-store", ...headers },
  });
}

/**
 * A GraphQL-over-HTTP error body, so a client reads `extensions.code` from a refusal the same
 * way it does from an error raised while executing.
 */
export function graphqlErrorBody(
  code: string,
  message: string,
  extensions: Record<string, unknown> = {},
) {
  return { errors: [{ message, extensions: { code, ...extensions } }] };
}
