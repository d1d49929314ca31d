/**
 * `useSingleConnectionSse` in process, through `yoga.fetch`, where a test holds each request's
 * signal and server context: what a stream's requests leave behind when they end in ways real
 * clients rarely produce on cue (a duplicate `GET` cut off, a chunked body from an anonymous
 * peer). graphql-sse's own client over real sockets is in test/clients/graphql-sse.test.ts.
 */
import { createSchema, createYoga } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import { clientOf, useClientAuth } from "../../src/server/plugins/useClientAuth.ts";
import { useSingleConnectionSse } from "../../src/server/plugins/useSingleConnectionSse.ts";
import { createClientVerifier } from "../../src/server/policy/client-auth.ts";
import type { ServerContext } from "../../src/server/server-context.ts";

const URL_ = "http://gateway.test/graphql";
const TOKEN_HEADER = "x-graphql-event-stream-token";
const PEER = "203.0.113.7";

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query { caller: String }
  `,
  resolvers: {
    Query: {
      caller: (_: unknown, __: unknown, context: { request: Request }) =>
        clientOf(context.request)?.id,
    },
  },
});

/** Anonymous callers allowed: each is known by its peer address, which only the server context carries. */
function gateway() {
  const verifier = createClientVerifier({ authRequired: false, apiKeys: [], jwt: undefined });
  return createYoga<ServerContext>({
    schema,
    logging: false,
    plugins: [useClientAuth({ verifier }), useSingleConnectionSse({ maxStreamsPerClient: 1 })],
  });
}
type Gateway = ReturnType<typeof gateway>;

/** What an HTTP request from {@link PEER} brings: its Node request's socket. */
const fromPeer = () => ({ req: { socket: { remoteAddress: PEER } } }) as unknown as ServerContext;

async function reserve(yoga: Gateway): Promise<string> {
  const response = await yoga.fetch(URL_, { method: "PUT" }, fromPeer());
  expect(response.status).toBe(201);
  return response.text();
}

function open(yoga: Gateway, token: string, signal?: AbortSignal) {
  const init = { headers: { accept: "text/event-stream", [TOKEN_HEADER]: token }, signal };
  return yoga.fetch(URL_, init, fromPeer());
}

/** Posts `{ caller }` to the stream; `chunked` sends the body without a Content-Length. */
function post(yoga: Gateway, token: string, operationId: string, chunked = false) {
  const json = JSON.stringify({ query: "{ caller }", extensions: { operationId } });
  const body = chunked
    ? new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(json));
          controller.close();
        },
      })
    : json;
  const headers = { "content-type": "application/json", [TOKEN_HEADER]: token };
  const init = { method: "POST", headers, body, duplex: "half" } as RequestInit;
  return yoga.fetch(URL_, init, fromPeer());
}

/** Reads the event stream until an event carrying `operationId`'s result. */
async function resultOf(stream: Response, operationId: string): Promise<unknown> {
  const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before ${operationId}'s result`);
    text += value;
    // Only complete events: the last piece may still be arriving.
    for (const event of text.split("\n\n").slice(0, -1)) {
      const data = event.match(/^data: (.*)$/m)?.[1];
      if (!data) continue;
      const parsed = JSON.parse(data) as { id: string; payload: unknown };
      if (parsed.id === operationId) {
        reader.releaseLock();
        return parsed.payload;
      }
    }
  }
}

describe("a single-connection event stream", () => {
  it("survives a second GET for its token that is refused and then cut off", async () => {
    const yoga = gateway();
    const token = await reserve(yoga);
    const stream = await open(yoga, token);
    expect(stream.status).toBe(200);

    const duplicate = new AbortController();
    const refused = await open(yoga, token, duplicate.signal);
    expect(refused.status).toBe(409);
    duplicate.abort();

    // The open stream still takes operations, and still holds its client's only stream slot.
    const accepted = await post(yoga, token, "after");
    expect(accepted.status).toBe(202);
    expect(await resultOf(stream, "after")).toEqual({ data: { caller: `ip:${PEER}` } });
    expect((await yoga.fetch(URL_, { method: "PUT" }, fromPeer())).status).toBe(429);
    await stream.body!.cancel();
  });

  it("frees its client's slot when the GET that opened it ends", async () => {
    const yoga = gateway();
    const token = await reserve(yoga);
    const opener = new AbortController();
    const stream = await open(yoga, token, opener.signal);
    expect(stream.status).toBe(200);
    expect((await yoga.fetch(URL_, { method: "PUT" }, fromPeer())).status).toBe(429);
    opener.abort();
    expect((await yoga.fetch(URL_, { method: "PUT" }, fromPeer())).status).toBe(201);
  });

  it("is owned by its event stream, not by a GET that ran an operation before it opened", async () => {
    const yoga = gateway();
    const token = await reserve(yoga);
    // graphql-sse runs an operation sent as a GET on the stream, and answers it 202.
    const operation = new URLSearchParams({
      query: "{ caller }",
      extensions: JSON.stringify({ operationId: "early" }),
    });
    const early = await yoga.fetch(
      `${URL_}?${operation}`,
      { headers: { accept: "application/json", [TOKEN_HEADER]: token } },
      fromPeer(),
    );
    expect(early.status).toBe(202);
    const opener = new AbortController();
    const stream = await open(yoga, token, opener.signal);
    expect(stream.status).toBe(200);
    opener.abort();
    expect((await yoga.fetch(URL_, { method: "PUT" }, fromPeer())).status).toBe(201);
  });

  it("runs a chunked operation body as the peer that sent it", async () => {
    const yoga = gateway();
    const token = await reserve(yoga);
    const stream = await open(yoga, token);
    expect((await post(yoga, token, "chunked", true)).status).toBe(202);
    expect(await resultOf(stream, "chunked")).toEqual({ data: { caller: `ip:${PEER}` } });
    await stream.body!.cancel();
  });
});
