/**
 * The page's GraphQL client: urql over one graphql-ws socket to the gateway that served the
 * page. Queries travel on the socket too, so the page has one connection, one place for
 * credentials and one way to send documents.
 */

import { Client, subscriptionExchange } from "@urql/core";
import { createClient, type Client as SocketClient } from "graphql-ws/client";

export interface Gateway {
  client: Client;
  /**
   * Calls `listener` each time the socket is lost while in use (closed abruptly, the gateway
   * restarting); the socket then reconnects by itself. Returns the function that stops it.
   */
  onConnectionLost(listener: () => void): () => void;
  close(): void;
}

/** A close the gateway meant: 4xxx other than 4499 (terminated) refuse the connection. */
const refused = (code: number) => code >= 4000 && code !== 4499;

/** Closes after which the page reconnects: the connection broke, or the gateway went away. */
const lost = (event: unknown): boolean => {
  const code = (event as { code?: unknown } | undefined)?.code;
  // 1000 is graphql-ws's own idle close.
  return typeof code === "number" && code !== 1000 && !refused(code);
};

/**
 * What graphql-ws may retry: lost connections, and a reconnection that failed to open (a
 * browser reports that as an error event, before any close).
 */
const retryable = (event: unknown): boolean => {
  const code = (event as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? lost(event) : true;
};

/** The gateway's own endpoint on the page's host: ws: under http:, wss: under https:. */
export function socketUrl(page: { href: string }): string {
  const url = new URL("/graphql", page.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

export function connectGateway(options: { url: string; apiKey?: string }): Gateway {
  const socket: SocketClient = createClient({
    url: options.url,
    lazy: true,
    // A question a few seconds after the last answer reuses the socket.
    lazyCloseTimeout: 10_000,
    // A lost socket comes back on its own. graphql-ws would then send a live subscription again
    // from its start (a second upstream request): `ask.ts` replaces it with a resume first.
    retryAttempts: 5,
    shouldRetry: retryable,
    // Quick at first (a blip), then backing off, with jitter so many pages do not reconnect at once.
    retryWait: (retries) =>
      new Promise((resolve) =>
        setTimeout(resolve, Math.min(250 * 2 ** retries, 4_000) + Math.random() * 250),
      ),
    connectionParams: () => (options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
  });
  const client = new Client({
    url: options.url,
    exchanges: [
      subscriptionExchange({
        enableAllOperations: true,
        forwardSubscription: (request, operation) => ({
          subscribe(sink) {
            return { unsubscribe: socket.subscribe(withDocumentHash(request, operation), sink) };
          },
        }),
      }),
    ],
  });
  return {
    client,
    onConnectionLost: (listener) =>
      socket.on("closed", (event) => {
        if (lost(event)) listener();
      }),
    close: () => void socket.dispose(),
  };
}

/**
 * The document's text plus its codegen hash (`extensions.persistedQuery.sha256Hash`), so the
 * page works whatever `TRUSTED_DOCUMENTS` says: with trusted documents off the text runs, and
 * with them on the hash picks the manifest's copy of the same operation.
 */
function withDocumentHash(
  request: { query?: string; operationName?: string; variables?: Record<string, unknown> },
  operation: { query: object },
) {
  const hash = (operation.query as { __meta__?: { hash?: string } }).__meta__?.hash;
  return {
    query: request.query ?? "",
    operationName: request.operationName,
    variables: request.variables,
    extensions: hash?.startsWith("sha256:")
      ? { persistedQuery: { version: 1, sha256Hash: hash.slice("sha256:".length) } }
      : undefined,
  };
}
