import { describe, expect, it } from "vitest";
import { GatewayMetrics } from "../../../src/server/observability/metrics.ts";
import { metricsSink } from "../../../src/server/observability/metrics-sink.ts";
import type {
  ObservedOperation,
  OperationEnd,
} from "../../../src/server/observability/operation-observer.ts";

const operation = (name: string | undefined, type: ObservedOperation["type"]) =>
  ({ requestId: "r", transport: "http", name, type, startedAt: 0, context: {} }) as const;
const ended = (outcome: string, durationMs: number): OperationEnd => ({
  durationMs,
  outcome,
  codes: outcome === "ok" ? [] : [outcome],
  errors: [],
  streamed: false,
  events: 0,
});

describe("metricsSink", () => {
  it("counts each operation in its own series, by name, type and outcome", async () => {
    const metrics = new GatewayMetrics({ processMetrics: false });
    const sink = metricsSink(metrics);
    sink.onEnd!(operation("Ask", "mutation"), ended("ok", 30));
    sink.onEnd!(operation("Ask", "mutation"), ended("ok", 700));
    sink.onEnd!(operation("Ask", "mutation"), ended("UPSTREAM_TIMEOUT", 5));
    sink.onEnd!(operation("Ask", "query"), ended("ok", 5));
    sink.onEnd!(operation(undefined, "query"), ended("ok", 5));
    const text = await metrics.registry.metrics();
    const ops = "gateway_graphql_operations_total";
    const ask = 'operation_name="Ask",operation_type="mutation",transport="http"';
    expect(text).toContain(`${ops}{${ask},outcome="ok"} 2\n`);
    expect(text).toContain(`${ops}{${ask},outcome="UPSTREAM_TIMEOUT"} 1\n`);
    expect(text).toContain(
      `${ops}{operation_name="Ask",operation_type="query",transport="http",outcome="ok"} 1\n`,
    );
    expect(text).toContain(
      `${ops}{operation_name="anonymous",operation_type="query",transport="http",outcome="ok"} 1\n`,
    );
    const duration = "gateway_graphql_operation_duration_seconds";
    expect(text).toContain(`${duration}_count{${ask}} 3\n`);
    expect(text).toContain(`${duration}_bucket{le="0.5",${ask}} 2\n`);
    expect(text).toContain(`${duration}_bucket{le="1",${ask}} 3\n`);
  });
});
