/**
 * `coalescingWrites` on a real TCP connection: the writes made in one event-loop turn leave
 * together once the turn ends.
 */
import { once } from "node:events";
import net from "node:net";
import { afterEach, expect, it, vi } from "vitest";
import { coalescingWrites } from "../../src/server/transports/socket-writes.ts";

const opened: net.Socket[] = [];
let server: net.Server | undefined;

/** A connected pair on 127.0.0.1: the gateway's side and the peer that reads it. */
async function connection(): Promise<{ gateway: net.Socket; peer: net.Socket }> {
  server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, "connection") as Promise<[net.Socket]>;
  const peer = net.connect(port, "127.0.0.1");
  const [gateway] = await accepted;
  opened.push(gateway, peer);
  return { gateway, peer };
}

afterEach(async () => {
  for (const socket of opened.splice(0)) socket.destroy();
  await new Promise((resolve) => server?.close(resolve));
});

it("holds a turn's writes and sends them together when the turn ends", async () => {
  const { gateway, peer } = await connection();
  const chunks: string[] = [];
  peer.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
  const hold = coalescingWrites(gateway);
  for (const message of ["one;", "two;", "three;"]) {
    hold();
    gateway.write(message);
  }
  // Held: nothing has gone to the kernel yet, and one hold covers the whole turn.
  expect(gateway.writableCorked).toBe(1);
  expect(gateway.writableLength).toBe("one;two;three;".length);
  await vi.waitFor(() => expect(chunks.join("")).toBe("one;two;three;"));
  expect(chunks).toEqual(["one;two;three;"]);
  expect(gateway.writableCorked).toBe(0);
});

it("holds again in a later turn", async () => {
  const { gateway, peer } = await connection();
  const chunks: string[] = [];
  peer.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
  const hold = coalescingWrites(gateway);
  hold();
  gateway.write("first;");
  await vi.waitFor(() => expect(chunks).toEqual(["first;"]));
  hold();
  gateway.write("second;");
  expect(gateway.writableCorked).toBe(1);
  await vi.waitFor(() => expect(chunks).toEqual(["first;", "second;"]));
});

it("does nothing without a TCP socket", () => {
  expect(() => coalescingWrites(undefined)()).not.toThrow();
});
