import { afterEach } from "vitest";
import WebSocket from "ws";

/** A graphql-ws message as it travels, loosely typed: the tests assert on its fields. */
export interface WsMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

/**
 * A bare WebSocket speaking graphql-ws by hand, so tests can send what a well-behaved client
 * library never would and observe the exact close code.
 */
export interface RawSocket {
  socket: WebSocket;
  send(message: WsMessage | string): void;
  /** The next message not yet taken, waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<WsMessage>;
  /** The next message for operation `id`, skipping (and keeping) others. */
  nextFor(id: string, timeoutMs?: number): Promise<WsMessage>;
  /** The next message of this type, skipping (and keeping) others. */
  nextOfType(type: string, timeoutMs?: number): Promise<WsMessage>;
  /** Resolves with the close code and reason once the socket has closed. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export async function openRawSocket(
  graphqlUrl: string,
  /** `protocol: null` offers no subprotocol at all. */
  options: { protocol?: string | null; headers?: Record<string, string> } = {},
): Promise<RawSocket> {
  const protocol = options.protocol === undefined ? "graphql-transport-ws" : options.protocol;
  const socket = new WebSocket(graphqlUrl.replace(/^http/, "ws"), protocol ?? [], {
    headers: options.headers,
  });
  const inbox: WsMessage[] = [];
  const waiters = new Set<() => void>();
  socket.on("message", (data) => {
    inbox.push(JSON.parse(String(data)) as WsMessage);
    for (const wake of [...waiters]) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.once("close", (code, reason) => {
      resolve({ code, reason: String(reason) });
      for (const wake of [...waiters]) wake();
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });

  const take = (match: (m: WsMessage) => boolean, timeoutMs: number) =>
    new Promise<WsMessage>((resolve, reject) => {
      const check = () => {
        const index = inbox.findIndex(match);
        if (index >= 0) {
          done();
          resolve(inbox.splice(index, 1)[0]!);
        } else if (socket.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error("socket closed before the expected message"));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  return {
    socket,
    send(message) {
      socket.send(typeof message === "string" ? message : JSON.stringify(message));
    },
    next: (timeoutMs = 5000) => take(() => true, timeoutMs),
    nextFor: (id, timeoutMs = 5000) => take((m) => m.id === id, timeoutMs),
    nextOfType: (type, timeoutMs = 5000) => take((m) => m.type === type, timeoutMs),
    closed,
    async close() {
      if (socket.readyState !== WebSocket.CLOSED) socket.close(1000);
      await closed;
    },
  };
}

/** Opens a socket and completes the `connection_init` / `connection_ack` handshake. */
export async function openAcknowledged(
  graphqlUrl: string,
  payload?: Record<string, unknown>,
  headers?: Record<string, string>,
): Promise<RawSocket> {
  const raw = await openRawSocket(graphqlUrl, { headers });
  raw.send({ type: "connection_init", ...(payload ? { payload } : {}) });
  const ack = await raw.next();
  if (ack.type !== "connection_ack") throw new Error(`expected connection_ack, got ${ack.type}`);
  return raw;
}

/**
 * Call at a test file's top level: returns `track`, and every socket passed to it is closed after
 * each test, whatever happened in it.
 */
export function closeAfterEach(): (raw: RawSocket) => RawSocket {
  const opened: RawSocket[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((raw) => raw.close()));
  });
  return (raw) => {
    opened.push(raw);
    return raw;
  };
}
