/**
 * Streamed completions against a scripted stub: lifetime of the upstream response around the
 * consumer (early exit, close, abort, reuse after [DONE]) and failures after bytes arrived.
 */
import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { AiSearchClient } from "../../src/upstream/client.ts";
import {
  UpstreamAbortedError,
  UpstreamError,
  UpstreamNetworkError,
  UpstreamNotFoundError,
  UpstreamProtocolError,
} from "../../src/upstream/errors.ts";
import type { StreamEvent } from "../../src/upstream/types.ts";
import { failure, type Stub, type StubHandler, sendJson, startStub } from "./stub-server.ts";

const messages = [{ role: "user" as const, content: "hi" }];

let stubs: Stub[] = [];
let clients: AiSearchClient[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(stubs.map((s) => s.close()));
  stubs = [];
  clients = [];
});

async function setup(handler: StubHandler) {
  const stub = await startStub(handler);
  stubs.push(stub);
  const sleeps: number[] = [];
  const client = new AiSearchClient({
    baseUrl: stub.baseUrl,
    accountId: "acct",
    credentials: { kind: "token", token: "t" },
    retry: { sleep: async (ms) => void sleeps.push(ms) },
  });
  clients.push(client);
  return { stub, client, sleeps };
}

const delta = (content: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "x", choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;

function sseHead(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" });
}

/** Writes `parts` one per tick, then ends (unless `end` is false). */
function writeSlowly(res: ServerResponse, parts: string[], end = true): void {
  sseHead(res);
  let i = 0;
  const next = () => {
    if (res.destroyed) return;
    if (i < parts.length) {
      res.write(parts[i++]);
      setTimeout(next, 2);
    } else if (end) {
      res.end();
    }
  };
  next();
}

const FULL = [
  "event: chunks\ndata: []\n\n",
  delta("Hel"),
  delta("lo"),
  delta("", "stop"),
  "data: [DONE]\n\n",
];

async function drain(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe("streamed completions", () => {
  it("posts stream:true with Accept: text/event-stream and yields typed events", async () => {
    const { stub, client } = await setup((_req, res) => writeSlowly(res, FULL));
    const stream = await client.streamInstanceChatCompletions("default", "docs", { messages });
    const events = await drain(stream);
    expect(events.map((e) => (e.type === "delta" ? e.content : e.type))).toEqual([
      "chunks",
      "Hel",
      "lo",
      "",
      "done",
    ]);
    const [req] = stub.requests;
    expect(req?.url).toBe(
      "/client/v4/accounts/acct/ai-search/namespaces/default/instances/docs/chat/completions",
    );
    expect(req?.headers.accept).toBe("text/event-stream");
    expect(JSON.parse(req?.body ?? "")).toEqual({ messages, stream: true });
  });

  it("rejects before iteration on an HTTP error, and retries a 429", async () => {
    const { stub, client, sleeps } = await setup((req, res, i) => {
      if (req.url.includes("/missing/")) sendJson(res, 404, failure(1, "no such namespace"));
      else if (i === 1) sendJson(res, 429, failure(1, "slow"), { "retry-after": "1" });
      else writeSlowly(res, FULL);
    });
    await expect(client.streamChatCompletions("missing", { messages })).rejects.toBeInstanceOf(
      UpstreamNotFoundError,
    );
    const stream = await client.streamChatCompletions("default", { messages });
    expect((await drain(stream)).at(-1)).toEqual({ type: "done" });
    expect(sleeps).toEqual([1000]);
    expect(stub.requests).toHaveLength(3);
  });

  it("rejects a 2xx that is not an event stream", async () => {
    const { client } = await setup((_req, res) => sendJson(res, 200, { choices: [] }));
    const error = await client.streamChatCompletions("default", { messages }).catch((e) => e);
    expect(error).toBeInstanceOf(UpstreamProtocolError);
    expect((error as UpstreamProtocolError).reason).toBe("unexpected-content-type");
  });

  it("leaving the for-await early closes the upstream socket", async () => {
    const { stub, client } = await setup((_req, res) =>
      writeSlowly(res, [FULL[0]!, delta("a")], false),
    );
    const stream = await client.streamChatCompletions("default", { messages });
    for await (const event of stream) {
      if (event.type === "delta") break;
    }
    await expect.poll(() => stub.closedSockets()).toBe(1);
  });

  it("close() before iterating closes the socket; a stream iterates only once", async () => {
    const { stub, client } = await setup((_req, res) => writeSlowly(res, [FULL[0]!], false));
    const stream = await client.streamChatCompletions("default", { messages });
    stream.close();
    await expect.poll(() => stub.closedSockets()).toBe(1);
    const again = await client.streamChatCompletions("default", { messages });
    const iterator = again[Symbol.asyncIterator]();
    expect(() => again[Symbol.asyncIterator]()).toThrow(/only once/);
    await iterator.return?.();
    await expect.poll(() => stub.closedSockets()).toBe(2);
  });

  it("aborting the signal mid-stream rejects the iteration and closes the socket", async () => {
    const { stub, client } = await setup((_req, res) =>
      writeSlowly(res, [FULL[0]!, delta("a")], false),
    );
    const controller = new AbortController();
    const stream = await client.streamChatCompletions(
      "default",
      { messages },
      { signal: controller.signal },
    );
    const seen: string[] = [];
    const error = await (async () => {
      try {
        for await (const event of stream) {
          seen.push(event.type);
          if (event.type === "delta") controller.abort();
        }
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UpstreamAbortedError);
    expect(seen).toEqual(["chunks", "delta"]);
    await expect.poll(() => stub.closedSockets()).toBe(1);
  });

  it("after [DONE] the socket goes back to the pool and is reused", async () => {
    const { stub, client } = await setup((_req, res) => writeSlowly(res, FULL));
    for (let i = 0; i < 3; i++) {
      const stream = await client.streamChatCompletions("default", { messages });
      for await (const event of stream) {
        // Leaving right at `done` must still drain, not destroy.
        if (event.type === "done") break;
      }
    }
    // Destroying instead of draining would need a new socket for every stream.
    expect(new Set(stub.requests.map((r) => r.remotePort)).size).toBeLessThan(3);
  });

  it("a reset after stream bytes arrived fails the iteration and is never retried", async () => {
    const { stub, client, sleeps } = await setup((_req, res) => {
      sseHead(res);
      res.write(FULL[0]);
      res.write(delta("partial"));
      setTimeout(() => res.socket?.resetAndDestroy(), 10);
    });
    const stream = await client.streamChatCompletions("default", { messages });
    const seen: StreamEvent[] = [];
    let error: unknown;
    try {
      for await (const event of stream) seen.push(event);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toBeInstanceOf(UpstreamNetworkError);
    expect(seen.map((e) => e.type)).toEqual(["chunks", "delta"]);
    expect(stub.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });
});
