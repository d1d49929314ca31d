import type { GatewayMetrics } from "./metrics.ts";
import type { OperationSink } from "./operation-observer.ts";

/** Counts operations by outcome, their latency, live subscriptions and refused requests. */
export function metricsSink(metrics: GatewayMetrics): OperationSink {
  return {
    onStream(operation) {
      metrics.activeSubscriptions.inc({ transport: operation.transport });
    },
    onEnd(operation, end) {
      const labels = {
        operation_name: metrics.operationName(operation.name),
        operation_type: operation.type ?? "unknown",
        transport: operation.transport,
      };
      metrics.operations.inc({ ...labels, outcome: end.outcome });
      metrics.operationDuration.observe(labels, end.durationMs / 1000);
      if (end.streamed) metrics.activeSubscriptions.dec({ transport: operation.transport });
    },
    onRefused(_request, response) {
      metrics.refusedRequests.inc({ status: String(response.status) });
    },
  };
}
