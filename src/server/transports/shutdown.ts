/**
 * Graceful shutdown. Order matters, and each step says why:
 *
 * 1. `Drain.begin()`: `/readyz` turns 503 so load balancers stop routing here; new GraphQL
 *    requests are refused with `SHUTTING_DOWN`; live subscription streams end with a final
 *    `ChatCompletionFailedEvent { code: SHUTTING_DOWN, retryable: true }` (the relay listens to
 *    the drain signal through the context) and abort their upstream requests.
 * 2. The HTTP server stops listening, so new connections are refused by the kernel.
 * 3. In-flight HTTP requests (SSE included) and graphql-ws operations get until the deadline.
 * 4. WebSockets close with 1001 (going away), after the final events they carry were sent.
 * 5. Whatever is still open at the deadline is cut.
 */
import { setMaxListeners } from "node:events";
import type { Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket, type WebSocketServer } from "ws";
import type { Logger } from "../../logger.ts";

/** The state of one app's shutdown, shared by the plugins, the transports and `App.stop()`. */
export class Drain {
  readonly #controller = new AbortController();
  #http = 0;
  #operations = 0;
  readonly #waiters = new Set<() => void>();

  // Stream relays share one listener (src/streams/relay.ts), but every indexing-progress watch
  // and remote follower adds its own; thousands of them are expected, not a leak.
  constructor() {
    setMaxListeners(0, this.#controller.signal);
  }

  /** Aborted when shutdown begins; subscription relays listen to it. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get draining(): boolean {
    return this.#controller.signal.aborted;
  }

  /** What is still in flight: HTTP requests (SSE included) and graphql-ws operations. */
  get inFlight(): { http: number; operations: number } {
    return { http: this.#http, operations: this.#operations };
  }

  begin(): void {
    this.#controller.abort();
  }

  /** Counts the server's requests until their responses close (finished or cut). */
  trackServer(server: Server): void {
    server.on("request", (_request, response) => {
      this.#http++;
      response.once("close", () => {
        this.#http--;
        this.#wake();
      });
    });
  }

  /** Counts one operation that no HTTP request carries; call the result once when it ends. */
  enter(): () => void {
    this.#operations++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#operations--;
      this.#wake();
    };
  }

  /** Resolves once nothing is in flight, or after `timeoutMs`; `true` when idle. */
  async idle(timeoutMs: number): Promise<boolean> {
    if (this.#isIdle()) return true;
    let check!: () => void;
    const idle = new Promise<boolean>((resolve) => {
      check = () => {
        if (this.#isIdle()) resolve(true);
      };
    });
    this.#waiters.add(check);
    try {
      return await within(idle, timeoutMs, false);
    } finally {
      this.#waiters.delete(check);
    }
  }

  #isIdle(): boolean {
    return this.#http === 0 && this.#operations === 0;
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }
}

export interface DrainOptions {
  drain: Drain;
  server: Server;
  /** The graphql-ws transport: `close()` sends 1001 to every socket and stops the server. */
  webSockets: { close(): Promise<void>; sockets: WebSocketServer };
  /** When everything must be closed, as `Date.now()` milliseconds. */
  deadline: number;
  logger?: Logger;
}

/** Steps 1 to 5 above for the HTTP and WebSocket side; resolves once all of it is closed. */
export async function drainServer(options: DrainOptions): Promise<void> {
  const { drain, server, webSockets, deadline, logger } = options;
  const remaining = () => Math.max(0, deadline - Date.now());
  drain.begin();
  logger?.info({ inFlight: drain.inFlight, timeoutMs: remaining() }, "shutdown: draining");
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const idle = await drain.idle(remaining());
  // The last `next` and `complete` messages are queued by graphql-ws a few promise turns after
  // the stream ends; one macrotask later they are on the socket, ahead of the close frame.
  await new Promise((resolve) => setImmediate(resolve));
  // Keep-alive connections that finished their last request during the drain.
  server.closeIdleConnections();
  await webSockets.close();
  await waitForSockets(webSockets.sockets, remaining());
  if (!idle) logger?.warn({ inFlight: drain.inFlight }, "shutdown: deadline reached, cutting");
  for (const socket of webSockets.sockets.clients) socket.terminate();
  server.closeAllConnections();
  await closed;
}

/** Waits for the WebSocket closing handshakes, which a silent client may never answer. */
async function waitForSockets(sockets: WebSocketServer, timeoutMs: number): Promise<void> {
  const open = [...sockets.clients].filter((socket) => socket.readyState !== WebSocket.CLOSED);
  if (open.length === 0) return;
  const allClosed = Promise.all(
    open.map((socket) => new Promise<void>((resolve) => socket.once("close", () => resolve()))),
  );
  await within(allClosed, timeoutMs, undefined);
}

/**
 * Closes the upstream client: gracefully (in-flight calls finish) until the deadline, then by
 * force, so a stalled upstream cannot hold the process open.
 */
export async function closeUpstream(
  client: { close(): Promise<void>; destroy(): Promise<void> },
  deadline: number,
): Promise<void> {
  const closed = await within(
    client.close().then(() => true),
    deadline - Date.now(),
    false,
  );
  if (!closed) await client.destroy();
}

/** `promise`, or `fallback` once `ms` have passed; the timer never outlives the race. */
export async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(Math.max(0, ms), fallback, { signal: timer.signal }).catch(() => fallback),
    ]);
  } finally {
    timer.abort();
  }
}
