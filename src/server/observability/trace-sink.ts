import { performance } from "node:perf_hooks";
import { type Context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Tracing } from "../../tracing.ts";
import type { ObservedOperation, OperationSink } from "./operation-observer.ts";

/** Attribute names: OpenTelemetry's GraphQL conventions, and the gateway's own under `gateway.`. */
export const SpanAttributes = {
  operationName: "graphql.operation.name",
  operationType: "graphql.operation.type",
  requestId: "gateway.request_id",
  transport: "gateway.transport",
  outcome: "gateway.outcome",
  errorCodes: "gateway.error_codes",
  events: "gateway.stream.events",
} as const;

/**
 * The incoming trace context: the request's headers (for a graphql-ws operation, those of its
 * upgrade request, which its normalised request carries).
 */
const carrierOf = (operation: ObservedOperation) =>
  (operation.context.request as Request | undefined)?.headers;

/**
 * A server span per GraphQL operation (`query Namespaces`, `subscription AskStream`), a child of
 * the caller's `traceparent` when there is one. Execution runs with the span active, so the
 * upstream client's spans become its children.
 */
export function traceSink(tracing: Tracing): OperationSink {
  const spans = new WeakMap<ObservedOperation, { span: Span; context: Context }>();
  return {
    onStart(operation) {
      const parent = tracing.extract(carrierOf(operation));
      const name = operation.type
        ? `${operation.type}${operation.name ? ` ${operation.name}` : ""}`
        : "graphql";
      const span = tracing.tracer.startSpan(
        name,
        {
          kind: SpanKind.SERVER,
          startTime: performance.timeOrigin + operation.startedAt,
          attributes: {
            [SpanAttributes.requestId]: operation.requestId,
            [SpanAttributes.transport]: operation.transport,
            ...(operation.type ? { [SpanAttributes.operationType]: operation.type } : {}),
            ...(operation.name ? { [SpanAttributes.operationName]: operation.name } : {}),
          },
        },
        parent,
      );
      spans.set(operation, { span, context: trace.setSpan(parent, span) });
    },
    onEnd(operation, end) {
      const entry = spans.get(operation);
      if (!entry) return;
      spans.delete(operation);
      const { span } = entry;
      span.setAttribute(SpanAttributes.outcome, end.outcome);
      if (end.codes.length > 0) span.setAttribute(SpanAttributes.errorCodes, end.codes);
      if (end.streamed) span.setAttribute(SpanAttributes.events, end.events);
      if (end.outcome !== "ok") {
        span.setStatus({ code: SpanStatusCode.ERROR, message: end.outcome });
      }
      span.end();
    },
    around(operation, run) {
      const entry = spans.get(operation);
      return entry ? tracing.run(entry.context, run) : run();
    },
  };
}
