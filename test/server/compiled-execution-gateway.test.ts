/**
 * The gateway's own schema and transports under compiled execution (useCompiledExecution itself:
 * compiled-execution-plugin.test.ts).
 */
import { getNamedType, isUnionType, print } from "graphql";
import { describe, expect, it, vi } from "vitest";
import {
  AskStreamDocument,
  type AskStreamSubscription,
  type ChatCompletionInput,
} from "../../operations/generated/graphql.ts";
import { schema as gatewaySchema } from "../../src/schema/index.ts";
import { startGateway } from "../helpers/gateway.ts";
import { captureLogs } from "../helpers/logs.ts";
import { openAcknowledged } from "../helpers/raw-ws.ts";
import { sseSubscribe } from "../helpers/streams.ts";

describe("the gateway with compiled execution", () => {
  it("gives every subscription's event union its own resolveType: Pothos' fallback fails under jit", () => {
    // jit calls a union's resolveType without the union, which graphql-js' default resolver
    // (Pothos' fallback) needs unless the value names its type; every event would then fail.
    const fields = Object.values(gatewaySchema.getSubscriptionType()!.getFields());
    const unions = fields.map((field) => getNamedType(field.type)).filter(isUnionType);
    expect(new Set(unions.map((union) => union.name))).toEqual(
      new Set(["ChatCompletionStreamEvent", "InstanceIndexingProgressEvent"]),
    );
    for (const union of unions) {
      const config = union.extensions.pothosConfig as { resolveType?: unknown } | undefined;
      expect({ union: union.name, own: typeof config?.resolveType }).toEqual({
        union: union.name,
        own: "function",
      });
    }
  });

  const input: ChatCompletionInput = {
    instanceIds: ["gateway-docs"],
    // The enum variable jit used to re-coerce on every stream event.
    messages: [{ role: "USER", content: "How does the gateway stream answers?" }],
  };
  type Event = AskStreamSubscription["chatCompletionStream"];

  it("streams over SSE and graphql-ws to the end, and drains live streams without its deadline", async () => {
    const logs = captureLogs("info");
    const harness = await startGateway(
      { streamDelayMs: 100 },
      { SHUTDOWN_TIMEOUT_MS: "8000" },
      { logger: logs.logger },
    );
    try {
      const complete: Event[] = [];
      for await (const result of sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, {
        input,
      })) {
        expect(result.errors).toBeUndefined();
        complete.push(result.data!.chatCompletionStream);
      }
      expect(complete[0]?.__typename).toBe("ChatCompletionChunksEvent");
      expect(complete.at(-1)?.__typename).toBe("ChatCompletionDoneEvent");
      expect(
        complete.filter((e) => e.__typename === "ChatCompletionDeltaEvent").length,
      ).toBeGreaterThan(0);

      // Live streams on both transports when the drain starts.
      const sse = sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, { input });
      expect((await sse.next()).value).toMatchObject({
        data: { chatCompletionStream: { __typename: "ChatCompletionChunksEvent" } },
      });
      const ws = await openAcknowledged(harness.gateway.graphqlUrl);
      ws.send({
        id: "live",
        type: "subscribe",
        payload: { query: print(AskStreamDocument), variables: { input } },
      });
      expect(await ws.nextFor("live")).toMatchObject({
        type: "next",
        payload: { data: { chatCompletionStream: { __typename: "ChatCompletionChunksEvent" } } },
      });

      const stopping = harness.app.stop();
      let sseLast: Event | undefined;
      for await (const result of sse) sseLast = result.data!.chatCompletionStream;
      expect(sseLast).toMatchObject({
        __typename: "ChatCompletionFailedEvent",
        code: "SHUTTING_DOWN",
      });
      let wsLast: unknown;
      for (
        let message = await ws.nextFor("live");
        message.type !== "complete";
        message = await ws.nextFor("live")
      ) {
        wsLast = message.payload;
      }
      expect(wsLast).toMatchObject({
        data: {
          chatCompletionStream: { __typename: "ChatCompletionFailedEvent", code: "SHUTTING_DOWN" },
        },
      });
      await stopping;
      // Both operations reached the observer's end: the drain never needed its deadline.
      expect(
        logs
          .lines()
          .map((line) => line.msg)
          .filter((msg) => msg.startsWith("shutdown:")),
      ).toEqual(["shutdown: draining", "shutdown: done"]);
    } finally {
      await harness.close();
    }
  });
  it("relays a subscription whose events use variables over graphql-ws, and the observer sees it end", async () => {
    const logs = captureLogs("info");
    const harness = await startGateway({ streamDelayMs: 5 }, {}, { logger: logs.logger });
    try {
      const ws = await openAcknowledged(harness.gateway.graphqlUrl);
      const query = /* GraphQL */ `
        subscription Lean($input: ChatCompletionInput!, $chunks: Boolean!) {
          chatCompletionStream(input: $input) {
            __typename
            ... on ChatCompletionChunksEvent { sequence chunks @include(if: $chunks) { chunkId } }
            ... on ChatCompletionDeltaEvent { sequence content }
            ... on ChatCompletionDoneEvent { sequence completion { content } }
          }
        }
      `;
      ws.send({
        id: "lean",
        type: "subscribe",
        payload: { query, variables: { input, chunks: false } },
      });
      const events: { __typename: string; sequence: number; [field: string]: unknown }[] = [];
      for (
        let message = await ws.nextFor("lean");
        message.type !== "complete";
        message = await ws.nextFor("lean")
      ) {
        expect(message).toMatchObject({ type: "next" });
        const payload = message.payload as { data: { chatCompletionStream: (typeof events)[0] } };
        expect(payload).not.toHaveProperty("errors");
        events.push(payload.data.chatCompletionStream);
      }
      // `$chunks: false` left the chunks out of the first event; each event has its place.
      expect(events[0]).toEqual({ __typename: "ChatCompletionChunksEvent", sequence: 0 });
      expect(events.map((event) => event.sequence)).toEqual(events.map((_, i) => i));
      const deltas = events.filter((event) => event.__typename === "ChatCompletionDeltaEvent");
      expect(deltas.length).toBeGreaterThan(0);
      expect(events.at(-1)).toEqual({
        __typename: "ChatCompletionDoneEvent",
        sequence: events.length - 1,
        completion: { content: deltas.map((delta) => delta.content).join("") },
      });
      await vi.waitFor(() =>
        expect(logs.lines().find((line) => line.operationName === "Lean")).toMatchObject({
          msg: "graphql operation",
          transport: "ws",
          outcome: "ok",
          events: events.length,
        }),
      );
      await ws.close();
    } finally {
      await harness.close();
    }
  });
});
