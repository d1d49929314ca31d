/**
 * A graphql-ws connection in HTTP terms. Every operation on a socket runs through the same Yoga
 * pipeline as an HTTP request, as a Fetch `Request` carrying the upgrade request's headers, with
 * the credentials of `connection_init` moved into the headers an HTTP caller would send them in.
 * The plugins then check a socket's operations with the very code that checks HTTP requests.
 */
import type { IncomingHttpHeaders } from "node:http";
import { END_USER_HEADER, ROUTER_KEY_HEADER } from "../policy/client-auth.ts";

export interface ConnectionCredentials {
  /**
   * Where `cloudflareApiToken` goes: the pass-through header. Unset when pass-through is off,
   * and the key is then ignored, as the header would be.
   */
  passThroughHeader?: string;
}

/**
 * Headers of the upgrade that describe the WebSocket handshake, not an operation, or that each
 * operation gets for itself: its own request id (one per operation, not one per socket).
 */
const HANDSHAKE_ONLY = new Set([
  "connection",
  "upgrade",
  "content-length",
  "transfer-encoding",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
  "x-request-id",
]);

/**
 * Printable ASCII without surrounding space, or empty: a value a header keeps exactly as given.
 * `Headers` would trim spaces and CR/LF from the ends and refuse them inside, so a credential
 * outside this set is not the one the client sent.
 */
const KEPT_AS_IS = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;

/**
 * Stands for a credential that cannot travel in a header (not a string, or with characters no
 * header keeps): a bare list separator, which is how a repeated header arrives and what every
 * credential check refuses. The caller is then refused as one sending a malformed header is.
 */
const UNUSABLE = ",";

/** Sets a credential from the payload, as sent or as {@link UNUSABLE}. */
const put = (headers: Headers, name: string, value: unknown) => {
  if (value === undefined) return;
  headers.set(name, typeof value === "string" && KEPT_AS_IS.test(value) ? value : UNUSABLE);
};

/**
 * The headers of each operation on a connection: the upgrade request's, then the credentials of
 * the `connection_init` payload in their HTTP places, replacing the upgrade's own when sent:
 * `authorization` (or `Authorization`) → `authorization`, `apiKey` → `x-api-key`,
 * `cloudflareApiToken` → the pass-through header, `routerKey` → `x-router-key`.
 */
export function connectionHeaders(
  upgrade: IncomingHttpHeaders,
  payload: Readonly<Record<string, unknown>> | undefined,
  options: ConnectionCredentials = {},
): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(upgrade)) {
    if (value === undefined || HANDSHAKE_ONLY.has(name)) continue;
    // Node joins most repeated headers with ", ", as Fetch does; the credential checks refuse
    // such a value.
    try {
      headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    } catch {
      // A byte Node let through and Fetch does not: unusable, like a payload credential.
      headers.set(name, UNUSABLE);
    }
  }
  if (!payload) return headers;
  const authorization = payload.authorization ?? payload.Authorization;
  const apiKey = payload.apiKey;
  // Credentials in the payload are the connection's: none of the upgrade's is mixed in.
  if (authorization !== undefined || apiKey !== undefined) {
    headers.delete("authorization");
    headers.delete("x-api-key");
    put(headers, "authorization", authorization);
    put(headers, "x-api-key", apiKey);
  }
  const token = payload.cloudflareApiToken;
  if (options.passThroughHeader && token !== undefined && token !== null) {
    put(headers, options.passThroughHeader, token);
  }
  put(headers, ROUTER_KEY_HEADER, payload.routerKey);
  return headers;
}

/** The headers a trusted router may set per operation: who the operation is for. */
const END_USER_HEADERS = ["authorization", "x-api-key", END_USER_HEADER];

/**
 * The headers of one operation on a trusted router's connection: the connection's, with the end
 * user's credentials the router propagated for this operation. Hive Gateway multiplexes its
 * users' subscriptions over one socket and sends each operation's propagated headers in the
 * `subscribe` payload as `extensions.headers`; anyone else's `extensions.headers` is ignored, as
 * an HTTP caller's `x-end-user-id` is. A user's credentials replace the connection's own.
 */
export function routedOperationHeaders(
  connection: Readonly<Record<string, string>>,
  extensions: unknown,
  options: ConnectionCredentials = {},
): Headers {
  const headers = new Headers(connection);
  const sent = (extensions as { headers?: unknown } | null | undefined)?.headers;
  if (typeof sent !== "object" || sent === null) return headers;
  const propagated = new Map(
    Object.entries(sent as Record<string, unknown>).map(([name, value]) => [
      name.toLowerCase(),
      value,
    ]),
  );
  const names = [
    ...END_USER_HEADERS,
    ...(options.passThroughHeader ? [options.passThroughHeader] : []),
  ];
  if (END_USER_HEADERS.some((name) => propagated.has(name))) {
    for (const name of END_USER_HEADERS) headers.delete(name);
  }
  for (const name of names) put(headers, name, propagated.get(name));
  return headers;
}
