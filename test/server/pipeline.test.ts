/**
 * The per-operation plugins in process, through `yoga.fetch` and `getResultForParams`, without
 * a server: each rule is exercised on both of its halves, an HTTP request (`onRequest`) and an
 * operation the way the graphql-ws transport hands it to Yoga (a normalised request that skips
 * `onRequest`). The real sockets are in the graphql-ws and HTTP suites.
 */
import { createSchema, createYoga, type GraphQLParams, type Plugin } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import type {
  ObservedOperation,
  OperationEnd,
  OperationSink,
} from "../../src/server/observability/operation-observer.ts";
import { useOperationObserver } from "../../src/server/observability/operation-observer.ts";
import { clientOf, useClientAuth } from "../../src/server/plugins/useClientAuth.ts";
import { executionStarted, useExecutionStart } from "../../src/server/plugins/useExecutionStart.ts";
import { useGracefulShutdown } from "../../src/server/plugins/useGracefulShutdown.ts";
import { usePassThroughCredentials } from "../../src/server/plugins/usePassThroughCredentials.ts";
import { useRateLimit } from "../../src/server/plugins/useRateLimit.ts";
import { requestIdOf, useRequestId } from "../../src/server/plugins/useRequestId.ts";
import { useSubscriptionCaps } from "../../src/server/plugins/useSubscriptionCaps.ts";
import { createClientVerifier } from "../../src/server/policy/client-auth.ts";
import type { ServerContext } from "../../src/server/server-context.ts";
import { connectionHeaders } from "../../src/server/transports/connection-init.ts";
import { Drain } from "../../src/server/transports/shutdown.ts";

const KEY = "pipeline-test-key-0123456789";
const URL_ = "http://gateway.test/graphql";

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query { hello: String, caller: String }
    type Subscription { ticks: Int }
  `,
  resolvers: {
    Query: {
      hello: () => "world",
      caller: (_: unknown, __: unknown, context: { request: Request }) =>
        clientOf(context.request)?.id,
    },
    Subscription: {
      ticks: {
        async *subscribe() {
          for (let tick = 0; ; tick++) {
            yield { ticks: tick };
            // A live stream, paced so that returning it takes effect at the next tick.
            await new Promise((resolve) => setImmediate(resolve));
          }
        },
      },
    },
  },
});

/** A Yoga with the gateway's per-operation plugins (as `yoga.ts` orders them) and `extra`. */
function pipeline(plugins: Plugin[]) {
  return createYoga<ServerContext>({ schema, logging: false, plugins });
}

const http = (
  yoga: ReturnType<typeof pipeline>,
  params: GraphQLParams,
  headers: Record<string, string> = {},
) =>
  yoga.fetch(URL_, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(params),
  });

/**
 * An operation as the graphql-ws transport runs it: a request `onRequest` never saw, on
 * `socket`. `refused` is what the transport would send as an `error` message.
 */
async function overSocket(
  yoga: ReturnType<typeof pipeline>,
  socket: object,
  params: GraphQLParams,
  headers: Record<string, string> = {},
) {
  const request = new yoga.fetchAPI.Request(URL_, { method: "POST", headers });
  const context = { socket } as ServerContext;
  try {
    const result = await yoga.getResultForParams({ params, request }, context);
    return { result, request, refused: !executionStarted(context), thrown: undefined };
  } catch (thrown) {
    return { result: undefined, request, refused: true, thrown: thrown as Error };
  }
}

const codeOf = (error: unknown) => (error as { extensions?: { code?: string } }).extensions?.code;
const socketA = {};
const socketB = {};

describe("the rate limit", () => {
  it("draws one allowance for HTTP requests and socket operations, refusing each its own way", async () => {
    const yoga = pipeline([useRateLimit({ limit: 2, key: () => "one client" })]);
    expect((await http(yoga, { query: "{ hello }" })).status).toBe(200);
    expect((await overSocket(yoga, socketA, { query: "{ hello }" })).result).toEqual({
      data: { hello: "world" },
    });

    const limited = await http(yoga, { query: "{ hello }" });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);

    const { thrown } = await overSocket(yoga, socketA, { query: "{ hello }" });
    expect(codeOf(thrown)).toBe("RATE_LIMITED");
    expect(
      (thrown as unknown as { extensions: { retryAfterMs: number } }).extensions.retryAfterMs,
    ).toBe(Number(limited.headers.get("retry-after")) * 1000);
  });
});

describe("client identity", () => {
  const verifier = createClientVerifier({ authRequired: true, apiKeys: [KEY], jwt: undefined });
  const yoga = pipeline([useClientAuth({ verifier })]);

  it("refuses HTTP before the body is read, and names the caller of an operation", async () => {
    expect((await http(yoga, { query: "{ hello }" })).status).toBe(401);
    const served = await http(yoga, { query: "{ caller }" }, { "x-api-key": KEY });
    expect(await served.json()).toEqual({ data: { caller: expect.stringMatching(/^key:/) } });
  });

  it("checks a socket operation from its normalised headers", async () => {
    const refused = await overSocket(yoga, socketA, { query: "{ hello }" }, { "x-api-key": "x" });
    expect(codeOf(refused.thrown)).toBe("UNAUTHENTICATED");
    const served = await overSocket(yoga, socketA, { query: "{ caller }" }, { "x-api-key": KEY });
    expect(served.result).toEqual({ data: { caller: clientOf(served.request)?.id } });
    expect(clientOf(served.request)?.id).toMatch(/^key:/);
  });

  it("takes pass-through tokens the same way", async () => {
    const passThrough = pipeline([usePassThroughCredentials({ header: "x-token" })]);
    expect((await http(passThrough, { query: "{ hello }" })).status).toBe(401);
    const missing = await overSocket(passThrough, socketA, { query: "{ hello }" });
    expect(codeOf(missing.thrown)).toBe("UNAUTHENTICATED");
    const given = await overSocket(
      passThrough,
      socketA,
      { query: "{ hello }" },
      { "x-token": "t" },
    );
    expect(given.result).toEqual({ data: { hello: "world" } });
  });
});

describe("subscription caps", () => {
  const subscribe = { query: "subscription { ticks }" };

  it("caps a connection and a client, refuses before running, and frees slots when streams end", async () => {
    const yoga = pipeline([
      useExecutionStart(),
      useSubscriptionCaps({ perClient: 2, perConnection: 1 }),
    ]);
    const first = await overSocket(yoga, socketA, subscribe);
    const stream = first.result as AsyncIterableIterator<unknown>;
    expect(await stream.next()).toEqual({ done: false, value: { data: { ticks: 0 } } });

    const sameSocket = await overSocket(yoga, socketA, subscribe);
    expect(sameSocket.refused).toBe(true);
    expect(sameSocket.result).toMatchObject({
      errors: [{ message: expect.stringContaining("connection"), extensions: { limit: 1 } }],
    });
    // Queries are not subscriptions: not counted.
    expect((await overSocket(yoga, socketA, { query: "{ hello }" })).refused).toBe(false);

    // The client's second slot, on another socket; its third is refused, over SSE too.
    const second = await overSocket(yoga, socketB, subscribe);
    expect(second.refused).toBe(false);
    const sse = await yoga.fetch(URL_, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(subscribe),
    });
    expect(await sse.text()).toContain("TOO_MANY_SUBSCRIPTIONS");

    await stream.return?.();
    const again = await overSocket(yoga, socketA, subscribe);
    expect(again.refused).toBe(false);
    await (again.result as AsyncIterableIterator<unknown>).return?.();
    await (second.result as AsyncIterableIterator<unknown>).return?.();
  });
});

describe("graceful shutdown", () => {
  it("refuses what arrives after the drain began: HTTP with 503, a socket operation as its result", async () => {
    const drain = new Drain();
    const yoga = pipeline([useExecutionStart(), useGracefulShutdown({ drain })]);
    drain.begin();

    const refused = await http(yoga, { query: "{ hello }" });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("connection")).toBe("close");
    expect((await yoga.fetch("http://gateway.test/readyz")).status).toBe(503);

    // Refused as it starts executing, so graphql-ws sends it as `next`, like a stream's end.
    const late = await overSocket(yoga, socketA, { query: "{ hello }" });
    expect(late.refused).toBe(false);
    expect(late.result).toMatchObject({ errors: [{ extensions: { code: "SHUTTING_DOWN" } }] });
  });
});

describe("the operation observer", () => {
  /** A sink writing down every step, to check that each operation's steps pair up once. */
  function recorder() {
    const steps: string[] = [];
    const ends: { operation: ObservedOperation; end: OperationEnd }[] = [];
    const sink: OperationSink = {
      onStart: (operation) => steps.push(`start ${operation.transport}`),
      onRun: () => steps.push("run"),
      onStream: () => steps.push("stream"),
      onEnd: (operation, end) => {
        steps.push(`end ${end.outcome}`);
        ends.push({ operation, end });
      },
      onRefused: (_request, response) => steps.push(`refused ${response.status}`),
    };
    return { sink, steps, ends };
  }

  it("runs one state machine per operation for every sink, over HTTP, SSE and a socket", async () => {
    const first = recorder();
    const second = recorder();
    const verifier = createClientVerifier({ authRequired: true, apiKeys: [KEY], jwt: undefined });
    const yoga = pipeline([
      useRequestId(),
      useOperationObserver([first.sink, second.sink]),
      useClientAuth({ verifier }),
    ]);
    const auth = { "x-api-key": KEY };

    await http(yoga, { query: "query Hi { hello }" }, auth);
    await http(yoga, { query: "query {" }, auth);
    await http(yoga, { query: "{ hello }" });
    const sse = await yoga.fetch(URL_, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", ...auth },
      body: JSON.stringify({ query: "subscription { ticks }" }),
    });
    const reader = sse.body!.getReader();
    await reader.read();
    await reader.cancel();
    const ws = await overSocket(yoga, socketA, { query: "{ hello }" }, auth);

    await expect.poll(() => first.steps.at(-1)).toBe("end ok");
    expect(first.steps).toEqual([
      "start http",
      "run",
      "end ok",
      "start http",
      "end GRAPHQL_PARSE_FAILED",
      "refused 401",
      "start sse",
      "run",
      "stream",
      "end ok",
      "start ws",
      "run",
      "end ok",
    ]);
    expect(second.steps).toEqual(first.steps);
    expect(first.ends.map(({ operation }) => operation.name)).toEqual([
      "Hi",
      undefined,
      undefined,
      undefined,
    ]);
    expect(first.ends[2]!.end).toMatchObject({ streamed: true, events: expect.any(Number) });
    // A socket operation's id is the one its request was given, once.
    expect(first.ends[3]!.operation.requestId).toBe(requestIdOf(ws.request));
  });
});

describe("connection_init credentials, normalised into headers", () => {
  it("carries the upgrade's headers, not its handshake or request id", () => {
    const headers = connectionHeaders(
      {
        "user-agent": "test",
        traceparent: "00-abc-def-01",
        "x-request-id": "upgrade-id",
        "sec-websocket-key": "k",
        "x-api-key": KEY,
      },
      undefined,
    );
    expect(Object.fromEntries(headers)).toEqual({
      "user-agent": "test",
      traceparent: "00-abc-def-01",
      "x-api-key": KEY,
    });
  });

  it("lets the payload's credentials replace the upgrade's, and marks unusable ones", () => {
    const upgrade = { authorization: "Bearer from-upgrade", "x-api-key": "from-upgrade" };
    const headers = (payload: Record<string, unknown>) =>
      Object.fromEntries(connectionHeaders(upgrade, payload, { passThroughHeader: "x-token" }));
    expect(headers({ apiKey: KEY })).toEqual({ "x-api-key": KEY });
    expect(headers({ Authorization: "Bearer abc" })).toEqual({ authorization: "Bearer abc" });
    expect(headers({ apiKey: 42 })).toEqual({ "x-api-key": "," });
    expect(headers({ apiKey: ` ${KEY}` })).toEqual({ "x-api-key": "," });
    expect(headers({ cloudflareApiToken: "a\r\nb" })).toMatchObject({ "x-token": "," });
    expect(headers({ cloudflareApiToken: "tok" })).toEqual({ ...upgrade, "x-token": "tok" });
    expect(headers({ other: true })).toEqual(upgrade);
    // Without pass-through the token key means nothing, as its header would.
    expect(Object.fromEntries(connectionHeaders({}, { cloudflareApiToken: "tok" }))).toEqual({});
  });
});
