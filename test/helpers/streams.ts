import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { createParser } from "eventsource-parser";
import { print } from "graphql";
import { type Client, type ClientOptions, createClient } from "graphql-ws";
import WebSocket from "ws";

/** One result of a subscription, typed by the document it came from. */
export interface StreamResult<T> {
  data?: T | null;
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
}

/** A graphql-ws client on a real WebSocket; `dispose` closes it. */
export function wsClient(
  graphqlUrl: string,
  options: Pick<ClientOptions, "connectionParams"> = {},
) {
  return createClient({
    url: graphqlUrl.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...options,
  });
}

/** Subscribes with a typed document over graphql-ws; results are typed by the document. */
export function wsSubscribe<TResult, TVariables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): AsyncIterableIterator<StreamResult<TResult>> {
  return client.iterate<TResult>({ query: print(document), variables });
}

/**
 * Subscribes over Yoga's GraphQL-over-SSE ("distinct connections" mode) and yields each `next`
 * payload. Breaking out of the loop aborts the HTTP request, as a closed browser tab would.
 */
export async function* sseSubscribe<TResult, TVariables extends Record<string, unknown>>(
  graphqlUrl: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  headers: Record<string, string> = {},
): AsyncGenerator<StreamResult<TResult>> {
  const query = print(document);
  const controller = new AbortController();
  const response = await fetch(graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", ...headers },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  if (!response.ok || !response.body) throw new Error(`SSE request failed: ${response.status}`);
  const pending: StreamResult<TResult>[] = [];
  let completed = false;
  const parser = createParser({
    onEvent(event) {
      if (event.event === "complete") completed = true;
      else if (event.data) pending.push(JSON.parse(event.data));
    },
  });
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  try {
    while (!completed) {
      while (pending.length > 0) yield pending.shift()!;
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    while (pending.length > 0) yield pending.shift()!;
  } finally {
    controller.abort();
  }
}
