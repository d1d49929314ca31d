/**
 * The WebSocket transport's share of the gateway's defences, over real sockets: operations are
 * cancelled with their socket or their `complete`, the per-client rate limit and connection cap
 * apply, and only allowed pages may open a socket at all.
 */
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { print } from "graphql";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AskDocument, type ChatCompletionInput } from "../../operations/generated/graphql.ts";
import { originAllowed } from "../../src/server/transports/connection-admission.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { closeAfterEach, openAcknowledged, openRawSocket } from "../helpers/raw-ws.ts";

const CHAT = "/chat/completions";
const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs"],
  messages: [{ role: "USER", content: "How does streaming of answers work?" }],
};
const ask = (id: string) => ({
  id,
  type: "subscribe",
  payload: { query: print(AskDocument), variables: { input } },
});
const typename = (id: string) => ({ id, type: "subscribe", payload: { query: "{ __typename }" } });

const KEY_A = "ws-sec-key-a-0123456789abcdef";
const KEY_B = "ws-sec-key-b-0123456789abcdef";

const track = closeAfterEach();

/** Waits until the local AI Search has received `count` chat requests, so one can be aborted. */
const chatRequestsReach = (harness: GatewayHarness, count: number) =>
  vi.waitFor(
    () =>
      expect(
        harness.local.requests.filter((r) => r.path.endsWith(CHAT)).length,
      ).toBeGreaterThanOrEqual(count),
    { timeout: 5_000, interval: 5 },
  );

describe("graphql-ws operation lifecycle", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway();
  });
  afterAll(() => harness.close());

  // The upstream answers in 5 s; each abort is awaited for at most 3 s, so only a cancellation
  // by the gateway (never a slow answer finishing) can satisfy it.
  const stall = () => {
    harness.local.setFaults({ latencyMs: 5_000, match: CHAT });
    harness.local.resetRequests();
  };
  afterEach(() => harness.local.setFaults(undefined));

  it("aborts the upstream request of a mutation when its socket closes", async () => {
    stall();
    const raw = track(await openAcknowledged(harness.gateway.graphqlUrl));
    raw.send(ask("m"));
    await chatRequestsReach(harness, 1);
    const aborted = harness.local.waitForAbort(CHAT, 3_000);
    await raw.close();
    expect((await aborted).aborted).toBe(true);
  });

  it("aborts it on `complete` for its id, keeping the socket and a reused id working", async () => {
    stall();
    const raw = track(await openAcknowledged(harness.gateway.graphqlUrl));
    raw.send(ask("m"));
    await chatRequestsReach(harness, 1);
    const first = harness.local.waitForAbort(CHAT, 3_000);
    // The id is free again once completed; reusing it at once must not let the first
    // operation's cleanup forget the second one.
    raw.send({ id: "m", type: "complete" });
    raw.send(ask("m"));
    expect((await first).aborted).toBe(true);

    // The socket is still in service.
    raw.send(typename("q"));
    expect(await raw.nextFor("q")).toMatchObject({ type: "next", payload: { data: {} } });

    await chatRequestsReach(harness, 2);
    const second = harness.local.waitForAbort(CHAT, 3_000);
    await raw.close();
    expect((await second).aborted).toBe(true);
  });

  it("sends nothing for a completed operation", async () => {
    stall();
    const raw = track(await openAcknowledged(harness.gateway.graphqlUrl));
    raw.send(ask("m"));
    await chatRequestsReach(harness, 1);
    const aborted = harness.local.waitForAbort(CHAT, 3_000);
    raw.send({ id: "m", type: "complete" });
    await aborted;
    // A ping's pong comes after anything the server queued for "m" before it.
    raw.send({ type: "ping" });
    await raw.nextOfType("pong");
    await expect(raw.nextFor("m", 200)).rejects.toThrow(/no matching message/);
  });

  it("refuses a document whose operation cannot be determined, as HTTP does", async () => {
    const raw = track(await openAcknowledged(harness.gateway.graphqlUrl));
    raw.send({
      id: "x",
      type: "subscribe",
      payload: { query: "query A { __typename } query B { __typename }" },
    });
    expect(await raw.nextFor("x")).toMatchObject({
      type: "error",
      payload: [{ extensions: { code: "OPERATION_RESOLUTION_FAILURE" } }],
    });
  });
});

describe("rate limit over graphql-ws", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway({}, { RATE_LIMIT_PER_MINUTE: "3" });
  });
  afterAll(() => harness.close());

  it("refuses the operation over the allowance with RATE_LIMITED, and keeps the socket", async () => {
    const raw = track(await openAcknowledged(harness.gateway.graphqlUrl));
    for (const id of ["1", "2", "3"]) {
      raw.send(typename(id));
      expect((await raw.nextFor(id)).type).toBe("next");
    }
    raw.send(typename("4"));
    const refused = await raw.nextFor("4");
    expect(refused.type).toBe("error");
    const [error] = refused.payload as { extensions: { code: string; retryAfterMs: number } }[];
    expect(error!.extensions.code).toBe("RATE_LIMITED");
    expect(error!.extensions.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(error!.extensions.retryAfterMs).toBeLessThanOrEqual(60_000);

    raw.send({ type: "ping" });
    await raw.nextOfType("pong");
    expect(raw.socket.readyState).toBe(raw.socket.OPEN);

    // One allowance per client, whichever transport spends it.
    const { status, body } = await harness.graphql("{ __typename }");
    expect(status).toBe(429);
    expect(body.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
  });
});

describe("connections per client over graphql-ws", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway(
      {},
      { AUTH_API_KEYS: `${KEY_A},${KEY_B}`, MAX_CONNECTIONS_PER_CLIENT: "2" },
    );
  });
  afterAll(() => harness.close());

  const connect = (key: string) =>
    openAcknowledged(harness.gateway.graphqlUrl, { apiKey: key }).then(track);

  it("closes a connection over the cap with 1013, and frees slots on close", async () => {
    const first = await connect(KEY_A);
    await connect(KEY_A);
    const third = track(await openRawSocket(harness.gateway.graphqlUrl));
    third.send({ type: "connection_init", payload: { apiKey: KEY_A } });
    await expect(third.next()).rejects.toThrow(/closed before/);
    expect(await third.closed).toEqual({ code: 1013, reason: "Too many connections" });

    // Another client has its own slots.
    await connect(KEY_B);

    // The server frees the slot when it sees the close, a moment after the client does.
    await first.close();
    await vi.waitFor(() => connect(KEY_A), { timeout: 2_000, interval: 20 });
  });
});

/** The status the server answers a WebSocket upgrade with: 101 when it switches protocols. */
function upgradeStatus(graphqlUrl: string, headers: Record<string, string>): Promise<number> {
  const target = new URL(graphqlUrl);
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": randomBytes(16).toString("base64"),
        "sec-websocket-protocol": "graphql-transport-ws",
        ...headers,
      },
    });
    req.on("upgrade", (response, socket) => {
      socket.destroy();
      resolve(response.statusCode!);
    });
    req.on("response", (response) => {
      response.resume();
      resolve(response.statusCode!);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("WebSocket upgrades and the page's Origin", () => {
  const ALLOWED = "https://app.example";
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway({}, { CORS_ORIGINS: ALLOWED });
  });
  afterAll(() => harness.close());

  it.each([
    ["a foreign origin", "https://evil.example"],
    ["the gateway's host on another port", "http://127.0.0.1:1"],
    ["an opaque origin", "null"],
  ])("refuses %s with 403 before the socket opens", async (_, origin) => {
    expect(await upgradeStatus(harness.gateway.graphqlUrl, { origin })).toBe(403);
  });

  it.each([
    ["an origin in CORS_ORIGINS", { origin: ALLOWED }],
    ["the gateway's own origin (GraphiQL)", { origin: "same" }],
    ["no origin (not a browser)", {}],
  ])("accepts %s", async (_, given: { origin?: string }) => {
    const headers: Record<string, string> =
      given.origin === undefined
        ? {}
        : { origin: given.origin === "same" ? harness.gateway.url : given.origin };
    expect(await upgradeStatus(harness.gateway.graphqlUrl, headers)).toBe(101);
    const raw = track(await openAcknowledged(harness.gateway.graphqlUrl, undefined, headers));
    raw.send(typename("q"));
    expect((await raw.nextFor("q")).type).toBe("next");
  });
});

describe("originAllowed", () => {
  const none = new Set<string>();
  it.each([
    ["https://gw.example", "gw.example", true],
    ["https://gw.example", "gw.example:443", true],
    ["https://gw.example", "GW.Example", true],
    ["http://gw.example:8080", "gw.example:8080", true],
    ["http://gw.example", "gw.example:8080", false],
    ["https://gw.example.evil", "gw.example", false],
    ["https://gw.example, https://gw.example", "gw.example", false],
    ["chrome-extension://abcdef", "abcdef", false],
  ])("%s reaching host %s: %s", (origin, host, expected) => {
    expect(originAllowed(origin, host, none)).toBe(expected);
  });

  it("allows no origin, and a listed one whatever the host", () => {
    expect(originAllowed(undefined, "gw.example", none)).toBe(true);
    expect(originAllowed("https://app.example", undefined, new Set(["https://app.example"]))).toBe(
      true,
    );
    expect(originAllowed("https://gw.example", undefined, none)).toBe(false);
  });
});
