/** The gateway's Prometheus metrics, end to end: what one mutation and one stream leave behind. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AskDocument,
  AskStreamDocument,
  SearchDocument,
} from "../../../operations/generated/graphql.ts";
import { type GatewayHarness, startGateway } from "../../helpers/gateway.ts";
import { sseSubscribe } from "../../helpers/streams.ts";
import { found, input } from "./helpers.ts";

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
