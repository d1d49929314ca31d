/**
 * The gateway's side of the client hooks (src/server/observability/upstream.ts), end to end: a
 * real gateway in front of the local AI Search.
 */
import { Writable } from "node:stream";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AskDocument, type ChatCompletionInput } from "../../../operations/generated/graphql.ts";
import { createLogger } from "../../../src/logger.ts";
import { type GatewayHarness, startGateway } from "../../helpers/gateway.ts";

const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs"],
  messages: [{ role: "USER", content: "How are upstream calls traced?" }],
};

let harness: GatewayHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A debug logger writing JSON lines to memory. */
function captureLogs() {
  const text: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      text.push(String(chunk));
      callback();
    },
  });
  return {
    logger: createLogger({ logLevel: "debug" }, { destination }),
    lines: () =>
      text
        .join("")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const sample = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("upstream metrics and logs", () => {
  it("count every attempt: a read that succeeds on its third try is three requests", async () => {
    const logs = captureLogs();
    harness = await startGateway({}, { UPSTREAM_MAX_RETRIES: "2" }, { logger: logs.logger });
    harness.local.setFaults({ errorStatus: 503, times: 2, match: "/namespaces/default" });
    const response = await harness.graphql(
      `query { namespace(name: "default") { name } }`,
      {},
      { "x-request-id": "retried-read-1" },
    );
    expect(response.body).toEqual({ data: { namespace: { name: "default" } } });

    const text = await harness.app.metrics!.registry.metrics();
    const requests = "gateway_upstream_requests_total";
    expect(
      sample(
        text,
        `${requests}{endpoint="getNamespace",status="503",outcome="UPSTREAM_SERVER_ERROR"}`,
      ),
    ).toBe(2);
    expect(sample(text, `${requests}{endpoint="getNamespace",status="2xx",outcome="ok"}`)).toBe(1);
    const durations = "gateway_upstream_request_duration_seconds_count";
    expect(
      sample(text, `${durations}{endpoint="getNamespace",outcome="UPSTREAM_SERVER_ERROR"}`),
    ).toBe(2);
    expect(sample(text, `${durations}{endpoint="getNamespace",outcome="ok"}`)).toBe(1);

    const calls = await vi.waitFor(() => {
      const found = logs
        .lines()
        .filter((l) => l.msg === "upstream call" && l.endpoint === "getNamespace");
      expect(found).toHaveLength(3);
      return found;
    });
    expect(
      calls.map(({ retry, status, outcome, requestId }) => ({ retry, status, outcome, requestId })),
    ).toEqual([
      { retry: 0, status: "503", outcome: "UPSTREAM_SERVER_ERROR", requestId: "retried-read-1" },
      { retry: 1, status: "503", outcome: "UPSTREAM_SERVER_ERROR", requestId: "retried-read-1" },
      { retry: 2, status: "2xx", outcome: "ok", requestId: "retried-read-1" },
    ]);
  });
});

describe("trace context and request id", () => {
  const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  const CALLER_SPAN = "00f067aa0ba902b7";

  it("reach the local AI Search with each call, traceparent naming the call's own span", async () => {
    const exporter = new InMemorySpanExporter();
    harness = await startGateway(
      {},
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" },
      { spanProcessor: new SimpleSpanProcessor(exporter) },
    );
    const response = await harness.graphql(
      AskDocument,
      { input },
      { "x-request-id": "traced-1", traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
    );
    expect(response.body.errors).toBeUndefined();

    const received = harness.local.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(received).toHaveLength(1);
    expect(received[0]?.requestId).toBe("traced-1");
    const [, traceId, parentSpan] = received[0]?.traceparent?.split("-") ?? [];
    expect(received[0]?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(traceId).toBe(TRACE_ID);

    const spans = await vi.waitFor(() => {
      const finished = exporter.getFinishedSpans();
      expect(finished.map((s) => s.name)).toEqual(
        expect.arrayContaining(["mutation Ask", "aisearch chatCompletions"]),
      );
      return finished;
    });
    const operation = spans.find((s) => s.name === "mutation Ask")!;
    const call = spans.find((s) => s.name === "aisearch chatCompletions")!;
    expect(call.kind).toBe(SpanKind.CLIENT);
    // The upstream continues the trace under the call's span, itself under the operation's.
    expect(parentSpan).toBe(call.spanContext().spanId);
    expect(call.parentSpanContext?.spanId).toBe(operation.spanContext().spanId);
    expect(call.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.response.status_code": 200,
      "gateway.request_id": "traced-1",
    });
  });

  it("without tracing, the request id still goes out and no traceparent does", async () => {
    harness = await startGateway();
    const response = await harness.graphql(AskDocument, { input }, { "x-request-id": "plain-1" });
    expect(response.body.errors).toBeUndefined();
    const received = harness.local.requests.filter((r) => r.path.endsWith("/chat/completions"));
    expect(received.map((r) => [r.requestId, r.traceparent])).toEqual([["plain-1", undefined]]);
  });
});
