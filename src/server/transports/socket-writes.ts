/**
 * How a graphql-ws socket's messages are written: coalesced per event-loop turn, and the mark
 * past which a subscription waits for its write (the transport's `send`, `graphql-ws.ts`).
 */
import type { Socket } from "node:net";
import type { WebSocket } from "ws";

/**
 * Holds a socket's writes until the event loop's current turn ends, so the messages of its many
 * subscriptions that are ready in one turn (deltas of different streams, read from upstream in
 * the same poll) leave in one `writev` instead of one system call each: on a socket with 100
 * live streams, the write calls were a quarter of the gateway's CPU. The delay is at most that
 * turn; nothing waits for more messages. ws corks its own header and payload writes the same
 * way, so a frame is never split by this.
 */
export function coalescingWrites(socket: WebSocket): () => void {
  // ws keeps the TCP socket as `_socket`; without one (a future ws), writes go out as before.
  const tcp = (socket as unknown as { _socket?: Socket })._socket;
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

/**
 * Bytes a socket may hold unsent before its subscriptions wait for their writes: about one
 * event-loop turn of messages for a socket carrying 100 streams, so a socket that keeps up never
 * makes a stream wait, and one whose peer stops reading holds at most this much per socket.
 */
export const SEND_HIGH_WATER_BYTES = 64 * 1024;
