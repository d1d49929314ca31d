import { print } from "graphql";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AskStreamDocument, type ChatCompletionInput } from "../../operations/generated/graphql.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { captureLogs } from "../helpers/logs.ts";
import {
  closeAfterEach,
  openAcknowledged,
  openRawSocket,
  type RawSocket,
  type WsMessage,
} from "../helpers/raw-ws.ts";
import { wsClient } from "../helpers/streams.ts";

const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs"],
  messages: [{ role: "USER", content: "How does streaming of answers work?" }],
};
const subscribe = (id: string) => ({
  id,
  type: "subscribe",
  payload: { query: print(AskStreamDocument), variables: { input } },
});

const KEY_A = "ws-key-a-0123456789abcdef";
const KEY_B = "ws-key-b-0123456789abcdef";
const KEY_C = "ws-key-c-0123456789abcdef";

const track = closeAfterEach();

describe("graphql-ws protocol close codes", () => {
  const logs = captureLogs("info");
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway(
      { streamDelayMs: 5 },
      { WS_CONNECTION_INIT_TIMEOUT_MS: "300", WS_MAX_PAYLOAD_BYTES: "4096" },
      { logger: logs.logger },
    );
  });
  afterAll(() => harness.close());
  afterEach(() => vi.restoreAllMocks());

  const open = async () => track(await openRawSocket(harness.gateway.graphqlUrl));

  it("closes 4401 on a subscribe before connection_init", async () => {
    const raw = await open();
    raw.send(subscribe("1"));
    expect((await raw.closed).code).toBe(4401);
  });

  it("closes 4429 on a second connection_init", async () => {
    const raw = await open();
    raw.send({ type: "connection_init" });
    expect((await raw.next()).type).toBe("connection_ack");
    raw.send({ type: "connection_init" });
    expect((await raw.closed).code).toBe(4429);
  });

  it("closes 4408 when connection_init does not come in time", async () => {
    const raw = await open();
    // Served until then: the socket is closed for the missing `connection_init`, not at once.
    raw.send({ type: "ping" });
    expect((await raw.next()).type).toBe("pong");
    expect(await raw.closed).toEqual({ code: 4408, reason: "Connection initialisation timeout" });
  });

  it("closes 4409 on a subscribe reusing a live operation id", async () => {
    harness.local.setFaults({ stallMidStreamAfterDeltas: 1, match: "/chat/completions" });
    try {
      const raw = track(await openAcknowledged(harness.gateway.graphqlUrl));
      raw.send(subscribe("dup"));
      expect((await raw.nextFor("dup")).type).toBe("next");
      raw.send(subscribe("dup"));
      expect((await raw.closed).code).toBe(4409);
    } finally {
      harness.local.setFaults(undefined);
    }
  });

  it.each([
    ["text that is not JSON", "hello"],
    ["an unknown message type", JSON.stringify({ type: "bogus" })],
    ["a subscribe without an id", JSON.stringify({ type: "subscribe", payload: { query: "{a}" } })],
    ["a JSON array", "[]"],
  ])("closes 4400 on %s", async (_, message) => {
    const raw = track(await openAcknowledged(harness.gateway.graphqlUrl));
    raw.send(message);
    expect((await raw.closed).code).toBe(4400);
  });

  it("closes 4406 when the client offers no graphql-transport-ws subprotocol", async () => {
    const raw = track(await openRawSocket(harness.gateway.graphqlUrl, { protocol: null }));
    expect((await raw.closed).code).toBe(4406);
  });

  // The one home of the oversized frame: whatever the frame and the connection's state, the
  // socket closes with 1009 and the gateway writes one log line, never a console stack.
  it.each([
    [
      "a subscribe after connection_init",
      true,
      JSON.stringify({
        ...subscribe("big"),
        payload: { query: `{ __typename } #${"x".repeat(8192)}` },
      }),
    ],
    ["a frame before connection_init", false, "x".repeat(70_000)],
  ])("closes 1009 on %s larger than WS_MAX_PAYLOAD_BYTES", async (_, acknowledged, frame) => {
    const consoleError = vi.spyOn(console, "error");
    const raw = track(
      acknowledged ? await openAcknowledged(harness.gateway.graphqlUrl) : await open(),
    );
    const before = logs.lines().length;
    raw.send(frame);
    expect((await raw.closed).code).toBe(1009);
    await vi.waitFor(() => expect(logs.lines().length).toBeGreaterThan(before));
    expect(logs.lines().slice(before)).toEqual([
      expect.objectContaining({
        level: "warn",
        msg: "websocket closed on a bad frame",
        code: "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
      }),
    ]);
    expect(consoleError).not.toHaveBeenCalled();
  });
});

describe("graphql-ws authentication", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway({}, { AUTH_REQUIRED: "true", AUTH_API_KEYS: KEY_A });
  });
  afterAll(() => harness.close());

  const init = async (payload?: Record<string, unknown>, headers?: Record<string, string>) => {
    const raw = track(await openRawSocket(harness.gateway.graphqlUrl, { headers }));
    raw.send({ type: "connection_init", ...(payload ? { payload } : {}) });
    return raw;
  };

  it("closes 4401 when connection_init carries no credentials", async () => {
    expect((await (await init()).closed).code).toBe(4401);
    expect((await (await init({ unrelated: true })).closed).code).toBe(4401);
  });

  it("closes 4403 when the credentials are wrong or malformed", async () => {
    for (const payload of [
      { apiKey: KEY_B },
      { authorization: `Bearer ${KEY_B}` },
      { authorization: `Basic ${KEY_A}` },
      { apiKey: `${KEY_A}\r\nx-injected: 1` },
      { apiKey: 12345 },
    ]) {
      expect((await (await init(payload)).closed).code).toBe(4403);
    }
  });

  it("acknowledges a key in the payload, as apiKey or a bearer token", async () => {
    for (const payload of [{ apiKey: KEY_A }, { authorization: `Bearer ${KEY_A}` }]) {
      const raw = await init(payload);
      expect((await raw.next()).type).toBe("connection_ack");
      raw.send({ id: "q", type: "subscribe", payload: { query: "{ __typename }" } });
      expect(await raw.nextFor("q")).toEqual({
        id: "q",
        type: "next",
        payload: { data: { __typename: "Query" } },
      });
    }
  });

  it("acknowledges a key sent on the upgrade request instead", async () => {
    const raw = await init(undefined, { "x-api-key": KEY_A });
    expect((await raw.next()).type).toBe("connection_ack");
  });
});

describe("refusals over graphql-ws", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    // Production defaults: introspection off, the default operation limits.
    harness = await startGateway({}, { NODE_ENV: "production", AUTH_REQUIRED: "false" });
  });
  afterAll(() => harness.close());

  /** What a graphql-ws client library hands its sink first: a result, or the refusal. */
  const firstOutcome = async (query: string) => {
    const client = wsClient(harness.gateway.graphqlUrl);
    try {
      return await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query },
          { next: resolve, error: resolve, complete: () => resolve("complete") },
        );
      });
    } finally {
      await client.dispose();
    }
  };

  it("refuses introspection as HTTP does, as an error message", async () => {
    const outcome = await firstOutcome("{ __schema { queryType { name } } }");
    expect(Array.isArray(outcome) && outcome.length > 0).toBe(true);
    for (const error of outcome as { extensions: unknown }[]) {
      expect(error.extensions).toEqual({ code: "GRAPHQL_VALIDATION_FAILED" });
    }
  });

  it("refuses an operation over a limit with the same code and no HTTP internals", async () => {
    const depth7 = `{ namespaces { edges { node { instances { nodes { namespace { name } } } } } } }`;
    const outcome = await firstOutcome(depth7);
    const errors = Array.isArray(outcome) ? outcome : [];
    expect(errors).toHaveLength(1);
    expect(errors[0].extensions).toEqual({
      code: "OPERATION_LIMIT_EXCEEDED",
      limit: "depth",
      max: 6,
    });
  });
});

describe("subscription caps", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway(
      { streamDelayMs: 5 },
      {
        AUTH_API_KEYS: `${KEY_A},${KEY_B},${KEY_C}`,
        MAX_SUBSCRIPTIONS_PER_CONNECTION: "2",
        MAX_SUBSCRIPTIONS_PER_CLIENT: "3",
        // A dropped stream holds its client's slot while it may be resumed; keep that short.
        STREAM_RESUME_GRACE_MS: "200",
      },
    );
    // Streams stall after their first delta: each subscription stays live until released.
    harness.local.setFaults({ stallMidStreamAfterDeltas: 1, match: "/chat/completions" });
  });
  afterAll(() => harness.close());

  const connect = async (key: string) =>
    track(await openAcknowledged(harness.gateway.graphqlUrl, { apiKey: key }));

  /** Subscribes and waits for the first event (accepted) or the refusal. */
  const start = async (raw: RawSocket, id: string): Promise<WsMessage> => {
    raw.send(subscribe(id));
    return raw.nextFor(id);
  };
  const expectRefused = (message: WsMessage, scope: "connection" | "client") => {
    expect(message.type).toBe("error");
    const errors = message.payload as { message: string; extensions: { code: string } }[];
    expect(errors[0]!.extensions.code).toBe("TOO_MANY_SUBSCRIPTIONS");
    expect(errors[0]!.message).toContain(scope);
  };
  /**
   * Retries until accepted: the server frees slots when it sees a close, a moment later, or
   * (for a stream dropped without `complete`) once its grace period has passed.
   */
  const startEventually = (raw: RawSocket, id: string) => {
    let attempt = 0;
    return vi.waitFor(
      async () => {
        const message = await start(raw, `${id}-${attempt++}`);
        expect(message.type).toBe("next");
        return message;
      },
      { timeout: 2_000, interval: 20 },
    );
  };

  /** An SSE subscription for `key`; `events` resolves with the body once the stream ends. */
  const sse = async (key: string) => {
    const controller = new AbortController();
    const response = await fetch(harness.gateway.graphqlUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        "x-api-key": key,
      },
      body: JSON.stringify({ query: print(AskStreamDocument), variables: { input } }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    return {
      first,
      abort: () => controller.abort(),
    };
  };

  it("refuses the subscription over the cap without closing the socket, and frees slots", async () => {
    const a = await connect(KEY_A);
    expect((await start(a, "a1")).type).toBe("next");
    expect((await start(a, "a2")).type).toBe("next");
    expectRefused(await start(a, "a3"), "connection");
    // Still open and usable: a query is not a subscription and is not capped.
    a.send({ id: "q", type: "subscribe", payload: { query: "{ __typename }" } });
    expect((await a.nextFor("q")).type).toBe("next");
    a.send({ type: "ping" });
    await a.nextOfType("pong");

    // The per-client cap spans connections of the same key.
    const b = await connect(KEY_A);
    expect((await start(b, "b1")).type).toBe("next");
    expectRefused(await start(b, "b2"), "client");
    // …and the SSE transport.
    const refused = await sse(KEY_A);
    expect(refused.first).toContain("TOO_MANY_SUBSCRIPTIONS");
    refused.abort();

    // Another client is not affected.
    const c = await connect(KEY_B);
    expect((await start(c, "c1")).type).toBe("next");

    // `complete` from the client frees its slot at once.
    a.send({ id: "a1", type: "complete" });
    expect((await startEventually(b, "b3")).type).toBe("next");

    // Closing a connection frees all of its slots for the client's other connections: its
    // streams' client slots once nobody resumed them within their grace period.
    await a.close();
    const d = await connect(KEY_A);
    expect((await startEventually(d, "d1")).type).toBe("next");
    expectRefused(await start(d, "d2"), "client");
  });

  it("counts live SSE subscriptions against the client's cap, and frees them after a disconnect's grace", async () => {
    // A client of its own: the streams the test above dropped may still hold KEY_B's slots.
    const c = await connect(KEY_C);
    expect((await start(c, "c1")).type).toBe("next");
    const first = await sse(KEY_C);
    expect(first.first).toContain("ChatCompletionChunksEvent");
    const second = await sse(KEY_C);
    expect(second.first).toContain("ChatCompletionChunksEvent");
    expectRefused(await start(c, "c2"), "client");
    first.abort();
    expect((await startEventually(c, "c3")).type).toBe("next");
    second.abort();
  });
});
