/**
 * The gateway's OpenTelemetry spans, end to end: an operation and its upstream calls under the
 * caller's trace, over HTTP and graphql-ws, and none without an OTLP endpoint.
 */
import { SpanKind } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AskDocument, AskStreamDocument } from "../../../operations/generated/graphql.ts";
import { startGateway } from "../../helpers/gateway.ts";
import { openAcknowledged } from "../../helpers/raw-ws.ts";
import { sseSubscribe } from "../../helpers/streams.ts";
import { found, input } from "./helpers.ts";

describe("OpenTelemetry tracing", () => {
  const exporter = new InMemorySpanExporter();
  afterEach(() => exporter.reset());

  const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  const CALLER_SPAN = "00f067aa0ba902b7";

  it("spans the operation and its upstream call, under the caller's trace", async () => {
    const harness = await startGateway(
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" },
      { spanProcessor: new SimpleSpanProcessor(exporter) },
    );
    try {
      const response = await harness.graphql(
        AskDocument,
        { input },
        {
          traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`,
        },
      );
      expect(response.body.errors).toBeUndefined();
      const spans = await found(() => {
        const finished = exporter.getFinishedSpans();
        return finished.some((s) => s.name === "mutation Ask") ? finished : undefined;
      }, "the operation span");
      const operation = spans.find((s) => s.name === "mutation Ask")!;
      expect(operation.kind).toBe(SpanKind.SERVER);
      expect(operation.spanContext().traceId).toBe(TRACE_ID);
      expect(operation.parentSpanContext?.spanId).toBe(CALLER_SPAN);
      expect(operation.attributes).toMatchObject({
        "graphql.operation.name": "Ask",
        "graphql.operation.type": "mutation",
        "gateway.outcome": "ok",
        "gateway.transport": "http",
      });

      const upstream = spans.filter((s) => s.name === "aisearch chatCompletions");
      expect(upstream).toHaveLength(1);
      const call = upstream[0] as ReadableSpan;
      expect(call.kind).toBe(SpanKind.CLIENT);
      expect(call.spanContext().traceId).toBe(TRACE_ID);
      expect(call.parentSpanContext?.spanId).toBe(operation.spanContext().spanId);
      expect(call.attributes["gateway.request_id"]).toBe(response.headers.get("x-request-id"));

      // A graphql-ws subscription: its span lasts as long as the stream, the stream's call inside.
      exporter.reset();
      const socket = await openAcknowledged(harness.gateway.graphqlUrl);
      socket.send({
        id: "s",
        type: "subscribe",
        payload: {
          query:
            "subscription Watch($input: ChatCompletionInput!) { chatCompletionStream(input: $input) { __typename } }",
          variables: { input },
        },
      });
      while ((await socket.nextFor("s")).type !== "complete") {}
      await socket.close();
      const streamed = await found(() => {
        const finished = exporter.getFinishedSpans();
        return finished.some((s) => s.name === "subscription Watch") ? finished : undefined;
      }, "the subscription span");
      const subscription = streamed.find((s) => s.name === "subscription Watch")!;
      const streamCall = streamed.find((s) => s.name === "aisearch streamChatCompletions")!;
      expect(subscription.attributes["gateway.transport"]).toBe("ws");
      expect(subscription.parentSpanContext).toBeUndefined();
      expect(streamCall.parentSpanContext?.spanId).toBe(subscription.spanContext().spanId);
      expect(subscription.attributes["gateway.stream.events"]).toBeGreaterThan(2);
    } finally {
      await harness.close();
    }
  });

  it("creates no spans when no OTLP endpoint is configured", async () => {
    const harness = await startGateway(
      {},
      {},
      { spanProcessor: new SimpleSpanProcessor(exporter) },
    );
    try {
      const response = await harness.graphql(AskDocument, { input });
      expect(response.body.errors).toBeUndefined();
      for await (const _ of sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, {
        input,
      })) {
      }
      // Once the stream's operation has been counted, every span it could have had has ended.
      await vi.waitFor(async () => {
        const { values } = await harness.app.metrics!.operations.get();
        expect(values.map((value) => value.labels.operation_name)).toContain("AskStream");
      });
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      await harness.close();
    }
  });
});
