/**
 * Two small loopback proxies for the browser tests. They relay real traffic unchanged; what
 * they add is what the servers at either end cannot show on cue: the request bodies the
 * upstream received, and a connection that drops under the page.
 */

import { createServer, request } from "node:http";
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from "node:net";

export interface Exchange {
  method: string;
  path: string;
  body: string;
  /** The response as relayed so far (an SSE stream grows while it runs). */
  response: string;
}

export interface RecordingProxy {
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of `target` that records each request body and response. A client
 * that goes away mid-response is passed on: the upstream request is destroyed too, so the
 * upstream sees the abort as it would without the proxy.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => {
      const exchange: Exchange = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        body: Buffer.concat(parts).toString(),
        response: "",
      };
      exchanges.push(exchange);
      const upstream = request(
        new URL(exchange.path, target),
        { method: exchange.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.on("data", (part: Buffer) => {
            exchange.response += part.toString();
          });
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.end(Buffer.concat(parts));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface DroppingProxy {
  url: string;
  /** Cuts every connection open through the proxy, as a network drop would. */
  dropAll(): void;
  /** While on, a new connection is cut as soon as it opens: the network stays down. */
  refuse(on: boolean): void;
  close(): Promise<void>;
}

/** A TCP relay to `target` (host:port) whose connections the test can cut. */
export async function startDroppingProxy(target: {
  host: string;
  port: number;
}): Promise<DroppingProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  const server = createTcpServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const dropAll = () => {
    for (const socket of open) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    dropAll,
    refuse: (on) => {
      refusing = on;
    },
    close: () =>
      new Promise((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
