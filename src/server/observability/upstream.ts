/**
 * The gateway's side of the upstream client's hooks (src/upstream/hooks.ts). For every attempt
 * to reach AI Search, retries each on their own: a metric, a debug `upstream call` log line and
 * a client span under the operation's span, whose W3C `traceparent` goes out with the attempt so
 * the upstream continues the trace.
 */
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type * as semconv from "@opentelemetry/semantic-conventions";
import type { Logger } from "../../logger.ts";
import type { Tracing } from "../../tracing.ts";
import { UpstreamAbortedError } from "../../upstream/errors.ts";
import type { AttemptObserver, AttemptStart, ClientHooks } from "../../upstream/hooks.ts";
import type { GatewayMetrics } from "./metrics.ts";

// The four attribute names this file sets, typed as the conventions' own literals so a change
// there fails the typecheck. Written out rather than imported: the package's one entry point
// loads every convention (~330 KB of source, held in the heap) for these four strings.
const ATTR_ERROR_TYPE: typeof semconv.ATTR_ERROR_TYPE = "error.type";
const ATTR_HTTP_REQUEST_METHOD: typeof semconv.ATTR_HTTP_REQUEST_METHOD = "http.request.method";
const ATTR_HTTP_REQUEST_RESEND_COUNT: typeof semconv.ATTR_HTTP_REQUEST_RESEND_COUNT =
  "http.request.resend_count";
const ATTR_HTTP_RESPONSE_STATUS_CODE: typeof semconv.ATTR_HTTP_RESPONSE_STATUS_CODE =
  "http.response.status_code";

export interface UpstreamObservability {
  /** Gets the `upstream call` line (and `upstream stream failed`) at debug level. */
  logger?: Logger;
  /** Unset when `METRICS=false`. */
  metrics?: GatewayMetrics;
  /** Unset unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set; then spans and `traceparent`. */
  tracing?: Tracing;
}

/** The `outcome` label: `ok`, `aborted` when the caller cancelled, else the client's error code. */
export function outcomeOf(error: unknown): string {
  if (error === undefined) return "ok";
  if (error instanceof UpstreamAbortedError) return "aborted";
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,64}$/.test(code) ? code : "ERROR";
}

/** The `status` label: `2xx` for any success status, other statuses as they are, else `none`. */
function statusLabel(status: number | undefined): string {
  if (status === undefined) return "none";
  return status >= 200 && status < 300 ? "2xx" : String(status);
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** The client hooks that observe upstream traffic through `observability`. */
export function upstreamHooks(observability: UpstreamObservability): ClientHooks {
  const { logger, metrics, tracing } = observability;
  if (!logger && !metrics && !tracing) return {};
  return { onAttempt: (attempt) => observeAttempt(attempt, observability) };
}

function observeAttempt(
  attempt: AttemptStart,
  { logger, metrics, tracing }: UpstreamObservability,
): AttemptObserver {
  const { endpoint, requestId } = attempt;
  // The active context is the operation's (useTracing runs execution inside it), so the span
  // is its child; a retry is a span of its own, as OpenTelemetry's HTTP conventions ask.
  const parent = tracing?.active();
  const span = tracing?.tracer.startSpan(
    `aisearch ${endpoint}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "aisearch.endpoint": endpoint,
        [ATTR_HTTP_REQUEST_METHOD]: attempt.method,
        ...(attempt.retry > 0 ? { [ATTR_HTTP_REQUEST_RESEND_COUNT]: attempt.retry } : {}),
        ...(requestId ? { "gateway.request_id": requestId } : {}),
      },
    },
    parent,
  );
  const endSpan = (outcome: string) => {
    if (!span) return;
    if (outcome !== "ok" && outcome !== "aborted") {
      span.setAttribute(ATTR_ERROR_TYPE, outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    }
    span.end();
  };
  return {
    headers: span && tracing && parent ? tracing.inject(trace.setSpan(parent, span)) : undefined,
    onEnd(end) {
      const outcome = outcomeOf(end.error);
      const status = statusLabel(end.status);
      metrics?.observeUpstream(endpoint, outcome, status, end.durationMs / 1000);
      logger?.debug(
        {
          requestId,
          endpoint,
          retry: attempt.retry,
          outcome,
          status,
          durationMs: round(end.durationMs),
        },
        "upstream call",
      );
      if (end.status !== undefined) span?.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, end.status);
      // A stream's span lasts as long as its body; its metric counted the headers above.
      if (!attempt.streaming || end.error !== undefined) endSpan(outcome);
    },
    onStreamEvent(event) {
      if (event.type === "delta") metrics?.streamDeltas.inc({ endpoint });
    },
    onStreamEnd(error) {
      const outcome = outcomeOf(error);
      if (outcome !== "ok" && outcome !== "aborted") {
        metrics?.upstreamStreamFailures.inc({ endpoint, outcome });
        logger?.debug({ requestId, endpoint, outcome }, "upstream stream failed");
      }
      endSpan(outcome);
    },
  };
}
