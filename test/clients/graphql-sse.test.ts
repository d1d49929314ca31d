/**
 * graphql-sse's own client against the gateway, in both of its modes: "distinct connections"
 * (one request per operation, served by Yoga) and "single connection" (one event stream,
 * operations posted beside it, served by `useSingleConnectionSse`). The single connection's
 * operations must meet the same gates as any other: credentials, rate limit, subscription caps,
 * trusted documents, and cancellation reaching the upstream.
 */
import { readFileSync } from "node:fs";
import { print } from "graphql";
import { type Client, createClient, type ExecutionResult } from "graphql-sse";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AskStreamDocument } from "../../operations/generated/graphql.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { captureLogs, type LogLine } from "../helpers/logs.ts";
import { ASK, askInput, expectCompleteAnswer, STREAM } from "./operations.ts";

const KEY_A = "sse-client-key-a-0123456789";
const KEY_B = "sse-client-key-b-0123456789";
const logs = captureLogs("info");
let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGateway(
    { streamDelayMs: 2 },
    {
      AUTH_REQUIRED: "true",
      AUTH_API_KEYS: `${KEY_A},${KEY_B}`,
      MAX_SUBSCRIPTIONS_PER_CLIENT: "2",
      LOG_LEVEL: "info",
    },
    { logger: logs.logger },
  );
});
afterAll(async () => {
  await harness?.close();
});

const clients: Client<boolean>[] = [];
function client(singleConnection: boolean, key: string | null = KEY_A): Client<boolean> {
  const created = createClient({
    url: harness.gateway.graphqlUrl,
    singleConnection,
    headers: key ? { "x-api-key": key } : {},
    retryAttempts: 0,
  });
  clients.push(created);
  return created;
}
afterAll(() => {
  for (const c of clients) c.dispose();
});

/** Every result of one operation, until it completes or fails. */
async function collect<T = Record<string, unknown>>(
  sse: Client<boolean>,
  query: string,
  variables: Record<string, unknown>,
) {
  const results: ExecutionResult<T, unknown>[] = [];
  for await (const result of sse.iterate<T>({ query, variables })) results.push(result);
  return results;
}

const events = (
  results: ExecutionResult<{ chatCompletionStream: { __typename: string } }, unknown>[],
) => results.map((r) => r.data!.chatCompletionStream);

describe.each([
  ["distinct connections", false],
  ["a single connection", true],
])("graphql-sse over %s", (_mode, singleConnection) => {
  it("streams a whole answer: deltas that make the done event's text", async () => {
    const results = await collect(client(singleConnection), STREAM, askInput());
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    expectCompleteAnswer(events(results as never));
  });

  it("runs a mutation", async () => {
    const [result] = await collect<{ chatCompletion: { content: string } }>(
      client(singleConnection),
      ASK,
      askInput(),
    );
    expect(result!.errors).toBeUndefined();
    expect(result!.data!.chatCompletion.content).toMatch(/\w/);
  });

  it("refuses a caller without credentials", async () => {
    await expect(collect(client(singleConnection, null), ASK, askInput())).rejects.toThrow(
      /^Server responded with 401/,
    );
  });
});

describe("the single connection", () => {
  it("carries several subscriptions at once on one event stream", async () => {
    const sse = client(true);
    const [first, second] = await Promise.all([
      collect(sse, STREAM, askInput("How are subscriptions streamed?")),
      collect(sse, STREAM, askInput("How do I configure the gateway?")),
    ]);
    expectCompleteAnswer(events(first as never));
    expectCompleteAnswer(events(second as never));
    const streams = harness.local.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(streams.length).toBeGreaterThanOrEqual(2);
  });

  it("holds its subscriptions to the per-client cap", async () => {
    harness.local.setFaults({ latencyMs: 3_000, match: "/chat/completions" });
    try {
      const sse = client(true);
      const held = [0, 1].map(() => sse.iterate({ query: STREAM, variables: askInput() }));
      const firsts = held.map((iterator) => iterator.next().catch(() => undefined));
      // Both hold their slots once the upstream has their requests.
      await vi.waitFor(() =>
        expect(
          harness.local.requests.filter((r) => r.path.endsWith("/chat/completions") && !r.status),
        ).toHaveLength(2),
      );
      const [refused] = await collect(sse, STREAM, askInput());
      expect(refused!.errors?.[0]?.extensions).toMatchObject({
        code: "TOO_MANY_SUBSCRIPTIONS",
        limit: 2,
      });
      await Promise.all(held.map((iterator) => iterator.return?.()));
      await Promise.all(firsts);
    } finally {
      harness.local.setFaults(undefined);
    }
  });

  it("aborts the upstream request when a subscription is cancelled", async () => {
    harness.local.setFaults({ endlessStream: true, match: "/chat/completions" });
    try {
      const aborted = harness.local.waitForAbort("/chat/completions", 10_000);
      const iterator = client(true).iterate({ query: STREAM, variables: askInput() });
      const first = await iterator.next();
      expect(first.value?.data).toBeDefined();
      await iterator.return?.();
      await aborted;
    } finally {
      harness.local.setFaults(undefined);
    }
  });

  it("logs each operation like any other, with its client", async () => {
    const before = logs.lines().length;
    await collect(client(true, KEY_B), print(AskStreamDocument), askInput());
    await vi.waitFor(() => {
      const line = logs
        .lines()
        .slice(before)
        .find((l: LogLine) => l.msg === "graphql operation" && l.operationName === "AskStream");
      expect(line).toMatchObject({ transport: "sse", outcome: "ok", client: expect.any(String) });
    });
  });

  it("belongs to the client that reserved it", async () => {
    const url = harness.gateway.graphqlUrl;
    const reserve = await fetch(url, { method: "PUT", headers: { "x-api-key": KEY_A } });
    expect(reserve.status).toBe(201);
    const token = await reserve.text();
    const post = (key: string) =>
      fetch(url, {
        method: "POST",
        headers: {
          "x-api-key": key,
          "x-graphql-event-stream-token": token,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          query: ASK,
          variables: askInput(),
          extensions: { operationId: "1" },
        }),
      });
    const other = await post(KEY_B);
    expect(other.status).toBe(404);
    const stranger = await fetch(`${url}?token=${token}`, {
      headers: { "x-api-key": KEY_B, accept: "text/event-stream" },
    });
    expect(stranger.status).toBe(404);
  });
});

describe("the single connection's operation bodies", () => {
  // graphql-sse reads these bodies itself, outside Yoga's parsing: the cap must still hold.
  const oversized = JSON.stringify({
    query: ASK,
    variables: { ...askInput(), padding: "x".repeat(1_100_000) },
    extensions: { operationId: "big" },
  });
  it.each([
    ["declared by Content-Length", () => oversized],
    [
      "sent chunked, without a Content-Length",
      () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(oversized));
            controller.close();
          },
        }),
    ],
  ])("are held to MAX_BODY_BYTES: %s", async (_how, body) => {
    const url = harness.gateway.graphqlUrl;
    const reserve = await fetch(url, { method: "PUT", headers: { "x-api-key": KEY_A } });
    const token = await reserve.text();
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "x-api-key": KEY_A,
        "x-graphql-event-stream-token": token,
        "content-type": "application/json",
      },
      body: body(),
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    const refused = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(refused.errors[0]!.extensions.code).toBe("REQUEST_ENTITY_TOO_LARGE");
    await fetch(url, {
      method: "DELETE",
      headers: { "x-api-key": KEY_A, "x-graphql-event-stream-token": token },
    });
  });
});

describe("the single connection, with trusted documents enforced", () => {
  let strict: GatewayHarness;
  beforeAll(async () => {
    strict = await startGateway({ streamDelayMs: 0 }, { TRUSTED_DOCUMENTS: "enforce" });
  });
  afterAll(async () => {
    await strict?.close();
  });

  it("runs a manifest document and refuses any other, as over HTTP", async () => {
    const sse = createClient({
      url: strict.gateway.graphqlUrl,
      singleConnection: true,
      retryAttempts: 0,
    });
    clients.push(sse);
    const manifest: Record<string, string> = JSON.parse(
      readFileSync(
        new URL("../../operations/generated/persisted-documents.json", import.meta.url),
        "utf8",
      ),
    );
    const id = (AskStreamDocument as unknown as { __meta__: { hash: string } }).__meta__.hash;
    const trusted = await collect(sse, manifest[id]!, askInput());
    expect(trusted.at(-1)?.data).toMatchObject({
      chatCompletionStream: { __typename: "ChatCompletionDoneEvent" },
    });
    const [refused] = await collect(sse, STREAM, askInput());
    expect(refused!.errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_ONLY");
  });
});
