import { Writable } from "node:stream";
import { SpanKind } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AskDocument,
  AskStreamDocument,
  type ChatCompletionInput,
  SearchDocument,
} from "../../operations/generated/graphql.ts";
import { createLogger } from "../../src/logger.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { captureLogs } from "../helpers/logs.ts";
import { openAcknowledged } from "../helpers/raw-ws.ts";
import { sseSubscribe } from "../helpers/streams.ts";

const QUESTION = "Which words of this question must never reach a log line?";
const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs", "ai-search-concepts"],
  messages: [{ role: "USER", content: QUESTION }],
};
const API_KEY = "observability-test-key-0123456789";
const COOKIE_SECRET = "cookie-secret-0123456789";

/**
 * `read`'s value once it has one: log lines and spans land a moment after the response.
 * `vi.waitFor` retries while the callback throws, so an absent value throws.
 */
const found = <T>(read: () => T | undefined | Promise<T | undefined>, what: string) =>
  vi.waitFor(
    async () => {
      const value = await read();
      if (value === undefined) throw new Error(`still waiting for ${what}`);
      return value;
    },
    { timeout: 2_000, interval: 20 },
  );

describe("structured logs", () => {
  const logs = captureLogs("debug");
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway(
      { streamDelayMs: 0 },
      { AUTH_API_KEYS: API_KEY },
      { logger: logs.logger },
    );
  });
  afterAll(() => harness.close());

  it("writes one line per operation with the request id, and never the credentials or the question", async () => {
    const response = await harness.graphql(
      AskDocument,
      { input },
      {
        "x-request-id": "obs-request-1",
        "x-api-key": API_KEY,
        cookie: `session=${COOKIE_SECRET}`,
      },
    );
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    // Returned to the caller…
    expect(response.headers.get("x-request-id")).toBe("obs-request-1");

    const line = await found(
      () =>
        logs.lines().find((l) => l.msg === "graphql operation" && l.requestId === "obs-request-1"),
      "the operation's log line",
    );
    expect(line).toMatchObject({
      level: "info",
      service: "aisearch-graphql-gateway",
      transport: "http",
      operationName: "Ask",
      operationType: "mutation",
      outcome: "ok",
      client: expect.stringMatching(/^key:/),
    });
    expect(line.durationMs).toBeTypeOf("number");
    expect(
      logs.lines().filter((l) => l.requestId === "obs-request-1" && l.msg === "graphql operation"),
    ).toHaveLength(1);

    // …and handed to the upstream call, which the client sends as `x-request-id`.
    const upstream = logs
      .lines()
      .find((l) => l.msg === "upstream call" && l.endpoint === "chatCompletions");
    expect(upstream).toMatchObject({ requestId: "obs-request-1", outcome: "ok", status: "2xx" });

    const everything = logs.raw();
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain(COOKIE_SECRET);
    expect(everything).not.toContain("must never reach");
  });

  it("gives every operation an id when the caller sends none, and reports error codes", async () => {
    const response = await harness.graphql(
      `query { search(input: { namespace: "no-such-namespace", instanceIds: ["a"], query: "x" }) { searchQuery } }`,
      {},
      { "x-api-key": API_KEY },
    );
    const id = response.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const line = await found(
      () => logs.lines().find((l) => l.msg === "graphql operation" && l.requestId === id),
      "the failed operation's line",
    );
    expect(line.operationType).toBe("query");
    expect(line.operationName).toBeUndefined();
    expect(response.body.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(line).toMatchObject({ outcome: "NOT_FOUND", errorCodes: ["NOT_FOUND"], level: "info" });
  });

  it("logs parse failures and requests refused before any operation", async () => {
    const broken = await harness.graphql("query {", {}, { "x-api-key": API_KEY });
    const parseLine = await found(
      () =>
        logs
          .lines()
          .find(
            (l) =>
              l.msg === "graphql operation" && l.requestId === broken.headers.get("x-request-id"),
          ),
      "the parse failure's line",
    );
    expect(parseLine.outcome).toBe("GRAPHQL_PARSE_FAILED");

    const refused = await harness.graphql(
      AskDocument,
      { input },
      {
        "x-request-id": "obs-refused",
        "x-api-key": "not-a-key-of-this-gateway-000",
      },
    );
    expect(refused.status).toBe(401);
    const line = await found(
      () => logs.lines().find((l) => l.requestId === "obs-refused"),
      "the refusal's line",
    );
    expect(line).toMatchObject({ msg: "graphql request refused", status: 401 });
    expect(logs.raw()).not.toContain("not-a-key-of-this-gateway-000");
  });

  it("tags graphql-ws operations with their own request id", async () => {
    const socket = await openAcknowledged(harness.gateway.graphqlUrl, { apiKey: API_KEY });
    try {
      socket.send({
        id: "1",
        type: "subscribe",
        payload: { query: "query WsProbe { namespaces(first: 1) { totalCount } }" },
      });
      expect((await socket.nextFor("1")).type).toBe("next");
      const line = await found(
        () => logs.lines().find((l) => l.operationName === "WsProbe"),
        "the graphql-ws operation's line",
      );
      expect(line).toMatchObject({ transport: "ws", operationType: "query", outcome: "ok" });
      expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await socket.close();
    }
  });

  it("redacts credential-like fields wherever a log call puts them", () => {
    const seen: string[] = [];
    const probe = createLogger(
      { logLevel: "info", security: { passThroughHeader: "x-my-token" } },
      {
        destination: new Writable({
          write(chunk, _encoding, callback) {
            seen.push(String(chunk));
            callback();
          },
        }),
      },
    );
    probe.info(
      {
        authorization: "Bearer top-level",
        headers: {
          authorization: "Bearer nested",
          "x-api-key": "nested-key",
          "x-cloudflare-api-token": "nested-token",
          "x-my-token": "renamed-pass-through",
          cookie: "a=b",
        },
        req: { headers: { authorization: "Bearer deeper", "set-cookie": "c=d" } },
        credentials: { kind: "token", token: "in-credentials" },
      },
      "probe",
    );
    const text = seen.join("");
    for (const secret of [
      "top-level",
      "nested",
      "nested-key",
      "nested-token",
      "renamed-pass-through",
      "a=b",
      "deeper",
      "c=d",
      "in-credentials",
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain("[redacted]");
  });
});

describe("Prometheus metrics", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway({ streamDelayMs: 20 });
  });
  afterAll(() => harness.close());

  const scrape = async () => {
    const response = await fetch(`${harness.gateway.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    return response.text();
  };
  const sample = (text: string, series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it("exposes the named metrics after one mutation and one stream", async () => {
    const mutation = await harness.graphql(AskDocument, { input });
    expect(mutation.body.errors).toBeUndefined();
    const search = await harness.graphql(SearchDocument, {
      input: { instanceIds: ["gateway-docs", "ai-search-concepts"], query: "streaming" },
    });
    expect(search.body.errors).toBeUndefined();

    // While the stream is live, the gauge counts it.
    const stream = sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, { input });
    await stream.next();
    expect(sample(await scrape(), 'gateway_active_subscriptions{transport="sse"}')).toBe(1);
    let events = 1;
    for await (const _ of stream) events++;
    expect(events).toBeGreaterThan(3);

    const text = await found(async () => {
      const body = await scrape();
      return sample(body, 'gateway_active_subscriptions{transport="sse"}') === 0 ? body : undefined;
    }, "the stream to end");
    const ops = "gateway_graphql_operations_total";
    expect(
      sample(
        text,
        `${ops}{operation_name="Ask",operation_type="mutation",transport="http",outcome="ok"}`,
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        `${ops}{operation_name="Search",operation_type="query",transport="http",outcome="ok"}`,
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        `${ops}{operation_name="AskStream",operation_type="subscription",transport="sse",outcome="ok"}`,
      ),
    ).toBe(1);
    expect(text).toMatch(
      /gateway_graphql_operation_duration_seconds_bucket\{le="0\.5",operation_name="Ask",operation_type="mutation",transport="http"\} 1/,
    );
    expect(
      sample(
        text,
        'gateway_upstream_requests_total{endpoint="chatCompletions",status="2xx",outcome="ok"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'gateway_upstream_requests_total{endpoint="streamChatCompletions",status="2xx",outcome="ok"}',
      ),
    ).toBe(1);
    expect(text).toContain(
      'gateway_upstream_request_duration_seconds_count{endpoint="chatCompletions",outcome="ok"} 1',
    );
    expect(
      sample(text, 'gateway_stream_deltas_relayed_total{endpoint="streamChatCompletions"}'),
    ).toBe(events - 2);
    expect(text).toMatch(/gateway_loader_batch_size_count\{loader="instance"\} [1-9]/);
    expect(sample(text, 'gateway_upstream_circuit_state{state="closed"}')).toBe(1);
    expect(sample(text, 'gateway_upstream_circuit_state{state="open"}')).toBe(0);
    expect(text).toContain("# TYPE process_cpu_user_seconds_total counter");
    expect(text).toContain("# TYPE nodejs_heap_size_used_bytes gauge");
  });

  it("counts requests refused before any operation by status", async () => {
    const response = await fetch(harness.gateway.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/xml" },
      body: "<query/>",
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(
      sample(await scrape(), `gateway_http_refused_requests_total{status="${response.status}"}`),
    ).toBe(1);
  });

  it("is absent when METRICS=false", async () => {
    const off = await startGateway({}, { METRICS: "false" });
    try {
      expect(off.app.metrics).toBeUndefined();
      expect((await fetch(`${off.gateway.url}/metrics`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});

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
