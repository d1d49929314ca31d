import type { GatewayMetrics } from "./metrics.ts";
import type { ObservedOperation, OperationSink } from "./operation-observer.ts";

type OperationLabels = Record<"operation_name" | "operation_type" | "transport", string>;

/** One operation kind's label sets: its duration's, and its count's by outcome. */
interface Series {
  labels: OperationLabels;
  byOutcome: Map<string, OperationLabels & { outcome: string }>;
}

/** Counts operations by outcome, their latency, live subscriptions and refused requests. */
export function metricsSink(metrics: GatewayMetrics): OperationSink {
  // The label objects of each series, made once: every label is bounded (operation names by
  // `operationName`, outcomes by the error codes), so this holds no more than the registry does,
  // and an operation's end costs no objects of its own.
  const series = new Map<string, Series>();
  const seriesOf = (operation: ObservedOperation): Series => {
    const name = metrics.operationName(operation.name);
    const type = operation.type ?? "unknown";
    const key = `${name} ${type} ${operation.transport}`;
    let found = series.get(key);
    if (!found) {
      const labels = { operation_name: name, operation_type: type, transport: operation.transport };
      found = { labels, byOutcome: new Map() };
      series.set(key, found);
    }
    return found;
  };
  return {
    onStream(operation) {
      metrics.activeSubscriptions.inc({ transport: operation.transport });
    },
    onEnd(operation, end) {
      const { labels, byOutcome } = seriesOf(operation);
      let counted = byOutcome.get(end.outcome);
      if (!counted) {
        counted = { ...labels, outcome: end.outcome };
        byOutcome.set(end.outcome, counted);
      }
      metrics.operations.inc(counted);
      metrics.operationDuration.observe(labels, end.durationMs / 1000);
      if (end.streamed) metrics.activeSubscriptions.dec({ transport: operation.transport });
    },
    onRefused(_request, response) {
      metrics.refusedRequests.inc({ status: String(response.status) });
    },
  };
}
