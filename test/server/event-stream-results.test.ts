/**
 * `useEventStreamResults` over real sockets: a small Yoga server with and without the plugin,
 * each on its own HTTP server on 127.0.0.1, read with `node:http` so the exact body bytes (after
 * HTTP's chunked framing) are seen: the same bytes as Yoga's own SSE processor, pings, a slow
 * reader, and a client that goes away mid-stream. The gateway's own streams over SSE are in
 * `chat-completion-stream.test.ts` and the client suites.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createGraphQLError, createSchema, createYoga, type Plugin } from "graphql-yoga";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useEventStreamResults } from "../../src/server/plugins/useEventStreamResults.ts";

/** What the subscriptions did, for the tests to watch from outside. */
const seen = { pulled: 0, returned: 0, release: () => {} };

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query { ok: Boolean }
    type Tick { n: Int!, pad: String }
    type Subscription {
      "count events, each with pad bytes; the one numbered failAt fails with an error"
      ticks(count: Int!, pad: Int, failAt: Int): Tick
      "one event once the test releases it, then endless until the client goes"
      held: Tick
    }
  `,
  resolvers: {
    Tick: {
      pad: ({ n, pad, failAt }: { n: number; pad: number; failAt?: number }) => {
        if (n === failAt) {
          // `http` is Yoga's internal extension, which neither writer may send.
          throw createGraphQLError("tick failed", {
            extensions: { code: "TICK_FAILED", http: { status: 418 } },
          });
        }
        return "x".repeat(pad);
      },
    },
    Subscription: {
      ticks: {
        async *subscribe(_: unknown, args: { count: number; pad?: number; failAt?: number }) {
          for (let n = 0; n < args.count; n++) {
            seen.pulled++;
            yield { ticks: { n, pad: args.pad ?? 0, failAt: args.failAt } };
          }
        },
      },
      held: {
        async *subscribe() {
          try {
            await new Promise<void>((resolve) => {
              seen.release = resolve;
            });
            for (let n = 0; ; n++) {
              yield { held: { n, pad: 0 } };
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          } finally {
            seen.returned++;
          }
        },
      },
    },
  },
});

interface Served {
  url: string;
  responses: ServerResponse[];
  close(): Promise<void>;
}

async function serve(plugins: Plugin[]): Promise<Served> {
  const yoga = createYoga({ schema, plugins, logging: false });
  const responses: ServerResponse[] = [];
  const server = createServer((req, res) => {
    responses.push(res);
    void yoga(req, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    responses,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

/** Opens a subscription over SSE; the response is left to the caller to read. */
async function subscribe(url: string, query: string): Promise<IncomingMessage> {
  const body = JSON.stringify({ query });
  const req = request(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
  });
  req.end(body);
  const [response] = (await once(req, "response")) as [IncomingMessage];
  response.setEncoding("utf8");
  return response;
}

async function readAll(response: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of response) text += chunk;
  return text;
}

/** The body's blocks, without the keep-alive pings after the first (they follow the clock). */
const withoutLaterPings = (body: string) =>
  body.split("\n\n").filter((block, i) => i === 0 || block !== ":");

describe("useEventStreamResults", () => {
  let ours: Served;
  let yogas: Served;
  beforeAll(async () => {
    ours = await serve([useEventStreamResults({ pingIntervalMs: 60_000 })]);
    yogas = await serve([]);
  });
  afterAll(async () => {
    await ours.close();
    await yogas.close();
  });

  /** The same subscription from both servers: responses, then whole bodies. */
  const sideBySide = async (query: string) => {
    const [mine, theirs] = await Promise.all([
      subscribe(ours.url, query),
      subscribe(yogas.url, query),
    ]);
    const [body, expected] = await Promise.all([readAll(mine), readAll(theirs)]);
    return { mine, theirs, body, expected };
  };

  it("writes the bytes and headers Yoga's SSE processor writes, an event with errors included", async () => {
    const query = "subscription { ticks(count: 5, pad: 3, failAt: 2) { n pad } }";
    const { mine, theirs, body, expected } = await sideBySide(query);
    expect(withoutLaterPings(body)).toEqual(withoutLaterPings(expected));
    expect(
      body.startsWith(':\n\nevent: next\ndata: {"data":{"ticks":{"n":0,"pad":"xxx"}}}\n\n'),
    ).toBe(true);
    expect(body.endsWith("event: complete\ndata:\n\n")).toBe(true);
    // The failed event keeps its code and loses Yoga's internal `http` extension.
    const failed = withoutLaterPings(body).find((block) => block.includes("TICK_FAILED"));
    expect(failed).toMatch(/^event: next\ndata: \{.*"code":"TICK_FAILED"/);
    expect(failed).not.toContain("http");
    expect(mine.statusCode).toBe(theirs.statusCode);
    for (const name of ["content-type", "cache-control", "connection", "content-encoding"]) {
      expect([name, mine.headers[name]]).toEqual([name, theirs.headers[name]]);
    }
    expect(mine.headers["content-type"]).toBe("text/event-stream");
  });

  it("leaves a single result answered as an event stream to Yoga: status and body as before", async () => {
    const query = "subscription { nope }";
    const { mine, theirs, body, expected } = await sideBySide(query);
    expect(mine.statusCode).toBe(theirs.statusCode);
    expect(withoutLaterPings(body)).toEqual(withoutLaterPings(expected));
    expect(body).toContain('event: next\ndata: {"errors":[');
  });

  it("pings an idle stream, then relays its events", async () => {
    // Pings every millisecond, so the fifty below come long before Yoga's own writer (300 ms
    // under NODE_ENV=test) would have sent them: this test fails if the plugin is not in use.
    const pinging = await serve([useEventStreamResults({ pingIntervalMs: 1 })]);
    seen.returned = 0;
    try {
      const response = await subscribe(pinging.url, "subscription { held { n } }");
      let text = "";
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      // The first ping at once, then more while no event comes.
      await vi.waitFor(() => expect(text.startsWith(":\n\n".repeat(50))).toBe(true), {
        timeout: 5_000,
      });
      seen.release();
      await vi.waitFor(() =>
        expect(text).toContain('event: next\ndata: {"data":{"held":{"n":1}}}\n\n'),
      );
      expect(text).toMatch(/^(:\n\n)+event: next\ndata: \{"data":\{"held":\{"n":0\}\}\}\n\n/);
      response.destroy();
      await vi.waitFor(() => expect(seen.returned).toBe(1));
    } finally {
      await pinging.close();
    }
  });

  it("holds back a slow reader's events instead of buffering them, and loses or reorders none", async () => {
    const count = 100;
    const pad = 512 * 1024;
    seen.pulled = 0;
    const response = await subscribe(
      ours.url,
      `subscription { ticks(count: ${count}, pad: ${pad}) { n pad } }`,
    );
    response.pause();
    const res = ours.responses.at(-1)!;
    // The reader takes nothing: the response's buffer fills and the subscription stops being
    // read, well before its end (without backpressure every event is pulled at once).
    await vi.waitFor(() => expect(res.writableNeedDrain).toBe(true));
    expect(seen.pulled).toBeLessThan(count / 2);
    response.resume();
    const body = await readAll(response);
    const numbers = [...body.matchAll(/"n":(\d+),"pad":"(x*)"/g)].map((m) => {
      expect(m[2]!.length).toBe(pad);
      return Number(m[1]);
    });
    expect(numbers).toEqual(Array.from({ length: count }, (_, n) => n));
    expect(body.endsWith("event: complete\ndata:\n\n")).toBe(true);
    expect(seen.pulled).toBe(count);
  });

  it("gives the same events to a reader of the fetch Response, outside a node server", async () => {
    // Not piped into a node response: the body is read as a Readable, which pushes the events.
    const query = "subscription { ticks(count: 3, pad: 1) { n pad } }";
    const init = {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query }),
    };
    const mine = await createYoga({
      schema,
      plugins: [useEventStreamResults({ pingIntervalMs: 60_000 })],
      logging: false,
    }).fetch("http://localhost/graphql", init);
    const theirs = await createYoga({ schema, logging: false }).fetch(
      "http://localhost/graphql",
      init,
    );
    const [body, expected] = await Promise.all([mine.text(), theirs.text()]);
    expect(withoutLaterPings(body)).toEqual(withoutLaterPings(expected));
    expect(body).toBe(
      `:\n\n${[0, 1, 2].map((n) => `event: next\ndata: {"data":{"ticks":{"n":${n},"pad":"x"}}}\n\n`).join("")}event: complete\ndata:\n\n`,
    );
  });

  it("ends the subscription when the client goes away mid-stream", async () => {
    seen.returned = 0;
    const response = await subscribe(ours.url, "subscription { held { n } }");
    seen.release();
    let text = "";
    response.on("data", (chunk: string) => {
      text += chunk;
    });
    await vi.waitFor(() => expect(text).toContain('"held":{"n":2}'));
    response.socket.destroy();
    await vi.waitFor(() => expect(seen.returned).toBe(1));
  });
});
