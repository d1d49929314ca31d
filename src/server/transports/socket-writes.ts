/**
 * How a connection carrying many streams is written: coalesced per event-loop turn (a graphql-ws
 * socket, a graphql-sse single-connection event stream), and the mark past which a graphql-ws
 * subscription waits for its write (the transport's `send`, `graphql-ws.ts`).
 */
import type { Socket } from "node:net";
import type { WebSocket } from "ws";

/**
 * Holds a connection's writes until the event loop's current turn ends, so the messages of its
 * many subscriptions that are ready in one turn (deltas of different streams, read from upstream
 * in the same poll) leave in one `writev` instead of one system call each: on a socket with 100
 * live streams, the write calls were a quarter of the gateway's CPU. The delay is at most that
 * turn; nothing waits for more messages. Call the returned function before each write. Node's
 * HTTP response and ws cork their own writes the same way (until the next tick), so a frame or
 * an event is never split by this.
 */
export function coalescingWrites(tcp: Socket | undefined): () => void {
  if (typeof tcp?.cork !== "function") return () => {};
  let held = false;
  const release = () => {
    held = false;
    if (!tcp.destroyed) tcp.uncork();
  };
  return () => {
    if (held) return;
    held = true;
    tcp.cork();
    setImmediate(release);
  };
}

/** ws keeps its TCP socket as `_socket`; without one (a future ws), writes go out as before. */
export const tcpOf = (socket: WebSocket) => (socket as unknown as { _socket?: Socket })._socket;

/**
 * Bytes a socket may hold unsent before its subscriptions wait for their writes: about one
 * event-loop turn of messages for a socket carrying 100 streams, so a socket that keeps up never
 * makes a stream wait, and one whose peer stops reading holds at most this much per socket.
 */
export const SEND_HIGH_WATER_BYTES = 64 * 1024;
