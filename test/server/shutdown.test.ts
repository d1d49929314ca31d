import { connect, type Socket } from "node:net";
import { print } from "graphql";
import { describe, expect, it, vi } from "vitest";
import {
  AskDocument,
  AskStreamDocument,
  type AskStreamSubscription,
  type ChatCompletionInput,
} from "../../operations/generated/graphql.ts";
import { startGateway } from "../helpers/gateway.ts";
import { captureLogs } from "../helpers/logs.ts";
import { openAcknowledged } from "../helpers/raw-ws.ts";
import { type StreamResult, sseSubscribe } from "../helpers/streams.ts";

const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs", "ai-search-concepts"],
  messages: [{ role: "USER", content: "How does the gateway stream answers?" }],
};

type Event = AskStreamSubscription["chatCompletionStream"];

/** Resolves once the local AI Search has a chat request, answered or not. */
const chatRequestArrives = (local: { requests: readonly { path: string }[] }) =>
  vi.waitFor(() =>
    expect(local.requests.some((r) => r.path.endsWith("/chat/completions"))).toBe(true),
  );

/** Resolves once the gateway holds no socket to the upstream: streams aborted, pool closed. */
const upstreamSocketsClosed = (local: { openConnections(): number }) =>
  vi.waitFor(() => expect(local.openConnections()).toBe(0), { timeout: 3_000 });

/** The drain's own account of how it ended: on time, or cut at the deadline. */
const shutdownLines = (logs: ReturnType<typeof captureLogs>) =>
  logs
    .lines()
    .map((line) => line.msg)
    .filter((msg) => msg.startsWith("shutdown:"));

/** Resolves with the socket once connected; rejects with the connection error. */
function openTcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** A raw HTTP/1.1 exchange, so a second request can be written on a connection that is busy. */
function rawConnection(socket: Socket) {
  let received = "";
  socket.on("data", (chunk) => {
    received += String(chunk);
  });
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    write: (text: string) => socket.write(text),
    received: () => received,
    ended,
  };
}

const postGraphql = (body: string) =>
  [
    "POST /graphql HTTP/1.1",
    "host: gateway",
    "content-type: application/json",
    "accept: application/json",
    `content-length: ${Buffer.byteLength(body)}`,
    "",
    body,
  ].join("\r\n");

describe("graceful shutdown", () => {
  it("ends live streams with SHUTTING_DOWN, lets in-flight requests finish and refuses new connections", async () => {
    // Slow deltas keep both streams live for seconds; the drain must not need its deadline.
    const logs = captureLogs("info");
    const harness = await startGateway(
      { streamDelayMs: 200 },
      { SHUTDOWN_TIMEOUT_MS: "8000" },
      { logger: logs.logger },
    );
    const { local, gateway, app } = harness;
    const port = Number(new URL(gateway.url).port);
    try {
      const sse = sseSubscribe(gateway.graphqlUrl, AskStreamDocument, { input });
      const sseEvents: Event[] = [];
      const first = await sse.next();
      sseEvents.push(
        (first.value as StreamResult<AskStreamSubscription>).data!.chatCompletionStream,
      );

      const ws = await openAcknowledged(gateway.graphqlUrl);
      ws.send({
        id: "live",
        type: "subscribe",
        payload: { query: print(AskStreamDocument), variables: { input } },
      });
      expect((await ws.nextFor("live")).type).toBe("next");

      // A mutation the upstream takes a second to answer, on a connection we keep writing to.
      local.setFaults({ latencyMs: 1000, match: "/chat/completions", times: 1 });
      const http = rawConnection(await openTcp(port));
      http.write(postGraphql(JSON.stringify({ query: print(AskDocument), variables: { input } })));
      await vi.waitFor(() =>
        expect(
          local.requests.some(
            (r) => r.path.endsWith("/chat/completions") && r.status === undefined,
          ),
        ).toBe(true),
      );

      const stopping = app.stop();

      // New connections are refused at once…
      await expect(openTcp(port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
      // …while a connection already open is told the gateway is not ready.
      http.write("GET /readyz HTTP/1.1\r\nhost: gateway\r\n\r\n");

      for await (const result of sse) sseEvents.push(result.data!.chatCompletionStream);
      const sseLast = sseEvents.at(-1);
      expect(sseEvents.length).toBeGreaterThan(1);
      expect(sseLast).toMatchObject({
        __typename: "ChatCompletionFailedEvent",
        code: "SHUTTING_DOWN",
        retryable: true,
      });
      expect(sseEvents.filter((e) => e.__typename === "ChatCompletionDoneEvent")).toHaveLength(0);

      const wsMessages = [];
      for (;;) {
        const message = await ws.nextFor("live");
        if (message.type === "complete") break;
        wsMessages.push(message);
      }
      const wsLast = wsMessages.at(-1)?.payload as StreamResult<AskStreamSubscription>;
      expect(wsLast.data?.chatCompletionStream).toMatchObject({
        __typename: "ChatCompletionFailedEvent",
        code: "SHUTTING_DOWN",
        retryable: true,
      });
      expect((await ws.closed).code).toBe(1001);

      await http.ended;
      const [mutationResponse, readyResponse] = http.received().split(/(?=HTTP\/1\.1 )/);
      expect(mutationResponse).toMatch(/^HTTP\/1\.1 200 /);
      const mutationBody = JSON.parse(
        mutationResponse!.slice(mutationResponse!.indexOf("\r\n\r\n")),
      );
      expect(mutationBody.errors).toBeUndefined();
      expect(mutationBody.data.chatCompletion.content.length).toBeGreaterThan(0);
      expect(readyResponse).toMatch(/^HTTP\/1\.1 503 /);
      expect(readyResponse).toContain('"draining"');

      await stopping;
      // Everything ended on its own: the deadline was never reached, nothing was cut.
      expect(shutdownLines(logs)).toEqual(["shutdown: draining", "shutdown: done"]);
      await upstreamSocketsClosed(local);
    } finally {
      await harness.close();
    }
  });

  it("cuts what is still running at SHUTDOWN_TIMEOUT_MS", async () => {
    const logs = captureLogs("info");
    const harness = await startGateway({}, { SHUTDOWN_TIMEOUT_MS: "300" }, { logger: logs.logger });
    const { local, app } = harness;
    try {
      // An upstream that never answers: the mutation would wait for its 60 s header timeout.
      local.setFaults({
        stallBeforeHeadersMs: Number.POSITIVE_INFINITY,
        match: "/chat/completions",
      });
      const mutation = harness.graphql(AskDocument, { input }).catch((error: unknown) => error);
      await chatRequestArrives(local);
      await app.stop();
      // The mutation was still waiting at the deadline, and was cut rather than waited for.
      expect(shutdownLines(logs)).toEqual([
        "shutdown: draining",
        "shutdown: deadline reached, cutting",
        "shutdown: done",
      ]);
      expect(await mutation).toBeInstanceOf(Error);
      await upstreamSocketsClosed(local);
    } finally {
      await harness.close();
    }
  });

  it("refuses new graphql-ws operations on sockets still open while draining", async () => {
    const harness = await startGateway({}, { SHUTDOWN_TIMEOUT_MS: "5000" });
    const { local, app } = harness;
    try {
      const ws = await openAcknowledged(harness.gateway.graphqlUrl);
      // An in-flight mutation keeps the drain waiting, and the socket open, for a second.
      local.setFaults({ latencyMs: 1000, match: "/chat/completions", times: 1 });
      const mutation = harness.graphql(AskDocument, { input });
      await chatRequestArrives(local);
      const stopping = app.stop();
      ws.send({ id: "late", type: "subscribe", payload: { query: "{ __typename }" } });
      const late = await ws.nextFor("late");
      expect(late.type).toBe("next");
      expect((late.payload as { errors?: unknown[] }).errors).toMatchObject([
        { extensions: { code: "SHUTTING_DOWN" } },
      ]);
      expect((await mutation).body.errors).toBeUndefined();
      await stopping;
      expect((await ws.closed).code).toBe(1001);
    } finally {
      await harness.close();
    }
  });
});
