/**
 * The page's GraphQL client: urql over one graphql-ws socket to the gateway that served the
 * page. Queries travel on the socket too, so the page has one connection, one place for
 * credentials and one way to send documents.
 */

import { Client, subscriptionExchange } from "@urql/core";
import { createClient, type Client as SocketClient } from "graphql-ws/client";

export interface Gateway {
  client: Client;
  close(): void;
}

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
    // A retried socket would send a live subscription again from its start: a second upstream
    // request and an answer written twice. Until streams can be resumed by id, a lost socket
    // ends the answer and the page offers to ask again.
    retryAttempts: 0,
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
  return { client, close: () => void socket.dispose() };
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
