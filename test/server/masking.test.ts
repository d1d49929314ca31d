/**
 * Whatever fails inside the gateway, and wherever (a resolver, a subscription's event or its
 * source, the context factory, request parsing, a parameter check), every transport's client
 * sees a stable code and none of the failure's own text: not its message, not its stack. Each
 * fault is a plain `Error` (or a thrown string) whose message looks like a secret; the transports
 * are the real ones over loopback, with their real clients.
 */
import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { ProgressHub } from "../../src/progress/hub.ts";
import { AiSearchClient, BoundAiSearchClient } from "../../src/upstream/client.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";

const SECRET = "sk-live-SECRET-0123456789";
const INTERNAL = "INTERNAL_SERVER_ERROR";

let harness: GatewayHarness;
beforeAll(async () => {
  harness = await startGateway();
});
afterAll(() => harness?.close());
afterEach(() => {
  vi.restoreAllMocks();
});

const QUERY = "{ namespaces(first: 1) { totalCount } }";
const MUTATION = 'mutation { createNamespace(input: { name: "masked" }) { namespace { name } } }';
const SUBSCRIPTION =
  'subscription { instanceIndexingProgress(instanceId: "i") { __typename ... on InstanceIndexingProgress { namespace } } }';

/** A progress source standing in for the hub's: `next` as given, then done. */
function progressSource(next: () => Promise<IteratorResult<unknown>>) {
  vi.spyOn(ProgressHub.prototype, "watch").mockImplementation(() => {
    let calls = 0;
    const iterator = {
      [Symbol.asyncIterator]: () => iterator,
      next: () => (calls++ === 0 ? next() : Promise.resolve({ done: true, value: undefined })),
      return: () => Promise.resolve({ done: true, value: undefined }),
      throw: (error: unknown) => Promise.reject(error),
    };
    return iterator as never;
  });
}

/** The context factory fails: building the operation's upstream binding throws. */
const contextFactoryThrows = () => {
  vi.spyOn(AiSearchClient.prototype, "withCall").mockImplementation(() => {
    throw new Error(SECRET);
  });
};

interface Fault {
  name: string;
  operation: string;
  /** Installs the fault; undone after each test. */
  arm(): void;
}

const faults: Fault[] = [
  {
    name: "a query's resolver",
    operation: QUERY,
    arm: () =>
      vi
        .spyOn(BoundAiSearchClient.prototype, "listNamespaces")
        .mockRejectedValue(new Error(SECRET)),
  },
  {
    name: "a mutation's resolver",
    operation: MUTATION,
    arm: () =>
      vi
        .spyOn(BoundAiSearchClient.prototype, "createNamespace")
        .mockRejectedValue(new Error(SECRET)),
  },
  {
    name: "the context factory (a query)",
    operation: QUERY,
    arm: contextFactoryThrows,
  },
  {
    name: "the context factory (a subscription)",
    operation: SUBSCRIPTION,
    arm: contextFactoryThrows,
  },
  {
    name: "a subscription's source, opening",
    operation: SUBSCRIPTION,
    arm: () =>
      vi.spyOn(ProgressHub.prototype, "watch").mockImplementation(() => {
        throw new Error(SECRET);
      }),
  },
  {
    name: "a subscription event's resolver",
    operation: SUBSCRIPTION,
    arm: () =>
      progressSource(() =>
        Promise.resolve({
          done: false,
          value: {
            kind: "progress",
            snapshot: {
              get namespace(): string {
                throw new Error(SECRET);
              },
            },
          },
        }),
      ),
  },
  {
    name: "a subscription's source, next() rejecting",
    operation: SUBSCRIPTION,
    arm: () => progressSource(() => Promise.reject(new Error(SECRET))),
  },
  {
    name: "a subscription's source, next() throwing",
    operation: SUBSCRIPTION,
    arm: () =>
      progressSource(() => {
        throw new Error(SECRET);
      }),
  },
  {
    name: "the context factory throwing a string",
    operation: QUERY,
    arm: () =>
      vi.spyOn(AiSearchClient.prototype, "withCall").mockImplementation(() => {
        throw SECRET;
      }),
  },
  {
    // Yoga's own error handling answers an abort with no error at all; one thrown while the
    // context is built is the gateway's failure, not the client's leaving.
    name: "the context factory throwing an abort",
    operation: SUBSCRIPTION,
    arm: () =>
      vi.spyOn(AiSearchClient.prototype, "withCall").mockImplementation(() => {
        throw new DOMException(SECRET, "AbortError");
      }),
  },
  {
    // A failure that only calls itself an abort is still a failure: masked like any other.
    name: "a subscription's source, next() rejecting with an Error named AbortError",
    operation: SUBSCRIPTION,
    arm: () =>
      progressSource(() =>
        Promise.reject(Object.assign(new Error(SECRET), { name: "AbortError" })),
      ),
  },
  {
    name: "a subscription's source, next() rejecting with a string",
    operation: SUBSCRIPTION,
    arm: () => progressSource(() => Promise.reject(SECRET)),
  },
];

/** What the gateway answers a JSON POST of `body` asking for `accept`, as text. */
async function post(body: string, accept: string): Promise<string> {
  const response = await fetch(harness.gateway.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept },
    body,
  });
  return response.text();
}

const postAccepting = (accept: string) => (query: string) =>
  post(JSON.stringify({ query }), accept);

/**
 * What each transport's client is shown for `query`, as text. Subscriptions stream over SSE,
 * graphql-ws and graphql-sse only: JSON and multipart answer them 406.
 */
const transports: Record<string, (query: string) => Promise<string>> = {
  "HTTP JSON": postAccepting("application/json"),
  SSE: postAccepting("text/event-stream"),
  multipart: postAccepting("multipart/mixed"),
  async "graphql-ws"(query) {
    const client: WsClient = createWsClient({
      url: harness.gateway.graphqlUrl.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    return seen(client.iterate({ query }), () => client.dispose());
  },
  async "graphql-sse, single connection"(query) {
    const client = createSseClient({
      url: harness.gateway.graphqlUrl,
      singleConnection: true,
      retryAttempts: 0,
    });
    return seen(client.iterate({ query }), () => client.dispose());
  },
};

/** Every result an iterating client yields, and the error it ends with, as text. */
async function seen(results: AsyncIterable<unknown>, dispose: () => unknown): Promise<string> {
  const shown: unknown[] = [];
  try {
    for await (const result of results) shown.push(result);
  } catch (error) {
    shown.push(error instanceof Error ? { message: error.message, stack: error.stack } : error);
  } finally {
    await dispose();
  }
  return JSON.stringify(shown);
}

function expectMasked(text: string, code = INTERNAL) {
  expect(text).toContain(code);
  // Not even part of the message: SECRET itself, or a fragment of it.
  expect(text).not.toContain("SECRET");
  expect(text).not.toMatch(/\.ts:\d+|at [\w.<>]+ \(/);
}

const STREAMING = new Set(["SSE", "graphql-ws", "graphql-sse, single connection"]);

describe.each(Object.entries(transports))("over %s", (transport, show) => {
  const applicable = faults.filter(
    ({ operation }) => STREAMING.has(transport) || operation !== SUBSCRIPTION,
  );
  it.each(applicable)("masks a failure in $name", async ({ operation, arm }) => {
    arm();
    expectMasked(await show(operation));
  });
});

describe("request-level failures", () => {
  it("over HTTP: a body that is not JSON, quoted by the parser", async () => {
    expectMasked(await post(`{"query": "${SECRET}`, "application/json"), "BAD_REQUEST");
  });

  it.each([["application/json"], ["text/event-stream"]])(
    "over HTTP (%s): an unexpected parameter, quoted by Yoga's check",
    async (accept) => {
      expectMasked(
        await post(JSON.stringify({ query: QUERY, [SECRET]: 1 }), accept),
        "BAD_REQUEST",
      );
    },
  );

  it("over graphql-ws: an unexpected parameter, quoted by Yoga's check", async () => {
    const socket = new WebSocket(harness.gateway.graphqlUrl.replace(/^http/, "ws"), [
      "graphql-transport-ws",
    ]);
    const messages: string[] = [];
    socket.on("message", (data) => messages.push(String(data)));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init" }));
    await vi.waitFor(() => expect(messages.join()).toContain("connection_ack"));
    socket.send(
      JSON.stringify({ id: "1", type: "subscribe", payload: { query: QUERY, [SECRET]: 1 } }),
    );
    await vi.waitFor(() => expect(messages.length).toBeGreaterThan(1));
    socket.close();
    expectMasked(messages.slice(1).join("\n"), "BAD_REQUEST");
  });
});
