import type { IncomingMessage } from "node:http";
import type { WebSocket } from "ws";

/**
 * What a transport hands Yoga with each request, beside the Fetch `Request` (Yoga's server
 * context). Over HTTP it is Node's request and response; for a graphql-ws operation, its
 * connection's upgrade request and socket. Plugins read the peer and the connection here, the
 * same way for both.
 */
export interface ServerContext {
  /** The Node request: the HTTP request itself, or the WebSocket's upgrade request. */
  req?: IncomingMessage;
  /** The WebSocket carrying the operation; unset over HTTP. */
  socket?: WebSocket;
}

/** The peer address as Node saw it; `X-Forwarded-For` is not trusted. */
export function remoteAddressOf(context: unknown): string | undefined {
  return (context as ServerContext | undefined)?.req?.socket?.remoteAddress;
}

/** The WebSocket an operation came on; `undefined` for HTTP and SSE. */
export function webSocketOf(context: unknown): WebSocket | undefined {
  return (context as ServerContext | undefined)?.socket;
}
