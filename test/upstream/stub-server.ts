/**
 * A scriptable HTTP server for client tests that need exact control over bytes and timing
 * (or that must prove nothing was sent at all). Everything the real local AI Search can do on
 * cue is tested against it instead (client.integration.test.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  /** The client's port, which tells whether the client reused a keep-alive socket. */
  remotePort: number | undefined;
}

export type StubHandler = (
  req: StubRequest,
  res: ServerResponse,
  index: number,
) => void | Promise<void>;

export interface Stub {
  baseUrl: string;
  requests: StubRequest[];
  /** Sockets the server has seen closed (by either side). */
  closedSockets: () => number;
  close(): Promise<void>;
}

export async function startStub(handler: StubHandler): Promise<Stub> {
  const requests: StubRequest[] = [];
  let closed = 0;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => {
      const recorded: StubRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(parts).toString("utf8"),
        remotePort: req.socket.remotePort,
      };
      requests.push(recorded);
      void handler(recorded, res, requests.length - 1);
    });
  });
  server.on("connection", (socket) => socket.on("close", () => closed++));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/client/v4`,
    requests,
    closedSockets: () => closed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function envelope(result: unknown, extra: Record<string, unknown> = {}) {
  return { success: true, errors: [], messages: [], result, ...extra };
}

export function failure(code: number, message: string) {
  return { success: false, errors: [{ code, message }], messages: [], result: null };
}
