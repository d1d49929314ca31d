/**
 * Identity behind a trusted router, over real sockets: a router sends its key in `x-router-key`
 * and says whom it calls for (the end user's own credentials, or `x-end-user-id`); limits, caps
 * and logs then key on that end user. Without a valid router key, `x-end-user-id` means nothing.
 * (test/federation/hive-gateway.test.ts runs the same through a real Hive Gateway.)
 */
import type { Client } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { captureLogs } from "../helpers/logs.ts";
import { wsClient } from "../helpers/streams.ts";

const ROUTER_KEY = "router-key-0123456789abcdef";
const CLIENT_KEY = "client-key-0123456789abcdef";
const logs = captureLogs("info");
let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGateway(
    // Slow deltas: the endless streams below must stay live (and small) while the test holds them.
    { streamDelayMs: 100 },
    {
      AUTH_REQUIRED: "true",
      AUTH_API_KEYS: CLIENT_KEY,
      AUTH_ROUTER_API_KEYS: ROUTER_KEY,
      RATE_LIMIT_PER_MINUTE: "6",
      MAX_SUBSCRIPTIONS_PER_CONNECTION: "2",
      MAX_SUBSCRIPTIONS_PER_CLIENT: "2",
      LOG_LEVEL: "info",
    },
    { logger: logs.logger },
  );
});
afterAll(async () => {
  await harness?.close();
});

/** The `client` a request's log line names, by the request id it was sent with. */
async function clientOf(headers: Record<string, string>) {
  const requestId = `req-${Math.random().toString(36).slice(2)}`;
  const response = await harness.graphql(
    `{ __typename }`,
    {},
    { ...headers, "x-request-id": requestId },
  );
  if (response.status !== 200) return { status: response.status, client: undefined };
  const line = await vi.waitFor(() => {
    const found = logs
      .lines()
      .find((l) => l.msg === "graphql operation" && l.requestId === requestId);
    expect(found).toBeDefined();
    return found!;
  });
  return { status: response.status, client: line.client as string };
}

describe("who a request is for", () => {
  it.each([
    [
      "the router, for an end user it authenticated",
      { "x-router-key": ROUTER_KEY, "x-end-user-id": "alice" },
      200,
      /^router:[0-9a-f]{16}\/user:alice$/,
    ],
    [
      "the router, for an end user with their own key",
      { "x-router-key": ROUTER_KEY, "x-api-key": CLIENT_KEY },
      200,
      /^key:[0-9a-f]{16}$/,
    ],
    ["the router, for itself", { "x-router-key": ROUTER_KEY }, 200, /^router:[0-9a-f]{16}$/],
    [
      "a client naming an end user without a router key (ignored)",
      { "x-api-key": CLIENT_KEY, "x-end-user-id": "alice" },
      200,
      /^key:[0-9a-f]{16}$/,
    ],
  ])("%s", async (_who, headers, status, client) => {
    const seen = await clientOf(headers);
    expect(seen.status).toBe(status);
    expect(seen.client).toMatch(client);
  });

  it.each([
    ["a key that is no router key", { "x-router-key": CLIENT_KEY, "x-end-user-id": "alice" }],
    ["an end user id alone, with no credentials at all", { "x-end-user-id": "alice" }],
    [
      "both an end user id and credentials",
      { "x-router-key": ROUTER_KEY, "x-end-user-id": "a", "x-api-key": CLIENT_KEY },
    ],
    ["an end user id that is no token", { "x-router-key": ROUTER_KEY, "x-end-user-id": "a, b" }],
    [
      "end user credentials that are invalid",
      { "x-router-key": ROUTER_KEY, authorization: "Bearer nope-nope-nope" },
    ],
  ])("refuses %s with 401", async (_what, headers) => {
    const { status, body } = await harness.graphql(`{ __typename }`, {}, headers);
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe("limits key on the end user", () => {
  it("gives each end user behind one router an allowance of their own", async () => {
    const as = (user: string) => ({ "x-router-key": ROUTER_KEY, "x-end-user-id": `rate-${user}` });
    for (let i = 0; i < 6; i++) {
      expect((await harness.graphql(`{ __typename }`, {}, as("a"))).status).toBe(200);
    }
    const refused = await harness.graphql(`{ __typename }`, {}, as("a"));
    expect(refused.status).toBe(429);
    expect((await harness.graphql(`{ __typename }`, {}, as("b"))).status).toBe(200);
  });
});

describe("a router's multiplexed WebSocket", () => {
  const sockets: Client[] = [];
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
  });
  const connect = (connectionParams: Record<string, string>) => {
    const client = wsClient(harness.gateway.graphqlUrl, { connectionParams });
    sockets.push(client);
    return client;
  };
  const STREAM = `subscription { chatCompletionStream(input: { instanceIds: ["gateway-docs"], messages: [{ role: USER, content: "streams?" }] }) { __typename } }`;

  /** Opens a subscription and resolves with its first result, or rejects with an `error` message. */
  const firstResult = (client: Client, extensions?: Record<string, unknown>) => {
    const iterator = client.iterate({ query: STREAM, extensions });
    return { iterator, first: iterator.next() };
  };

  it("serves end users past the per-connection cap, each held to the per-client cap", async () => {
    harness.local.setFaults({ endlessStream: true, match: "/chat/completions" });
    try {
      const router = connect({ routerKey: ROUTER_KEY });
      const as = (user: string) => ({ headers: { "x-end-user-id": `ws-${user}` } });
      const opened = ["a", "b", "c", "a", "b"].map((user) => firstResult(router, as(user)));
      for (const { first } of opened) {
        const { value } = await first;
        expect(value?.data).toEqual({
          chatCompletionStream: { __typename: "ChatCompletionChunksEvent" },
        });
      }
      // A third for end user `a`: over their own cap, refused as a result a router relays.
      const refused = await firstResult(router, as("a")).first;
      expect(refused.value?.errors?.[0]?.extensions).toMatchObject({
        code: "TOO_MANY_SUBSCRIPTIONS",
        limit: 2,
      });
      await Promise.all(opened.map(({ iterator }) => iterator.return?.()));
    } finally {
      harness.local.setFaults(undefined);
    }
  });

  it("ignores end users named on a connection that is not a router's, and keeps its error messages", async () => {
    harness.local.setFaults({ endlessStream: true, match: "/chat/completions" });
    try {
      const direct = connect({ apiKey: CLIENT_KEY });
      const named = (user: string) => ({ headers: { "x-end-user-id": user } });
      const opened = [firstResult(direct, named("x")), firstResult(direct, named("y"))];
      for (const { first } of opened) expect((await first).value?.data).toBeDefined();
      // The same client identity whatever the payload says: its third is over the cap, and a
      // direct client gets graphql-ws' `error` message.
      await expect(firstResult(direct, named("z")).first).rejects.toEqual([
        expect.objectContaining({
          extensions: expect.objectContaining({ code: "TOO_MANY_SUBSCRIPTIONS" }),
        }),
      ]);
      await Promise.all(opened.map(({ iterator }) => iterator.return?.()));
    } finally {
      harness.local.setFaults(undefined);
    }
  });
});
