/**
 * Measures the gateway's calls to AI Search from the outside of the client: a metric, a debug
 * log line and a client span per call. Being a decorator, it sees one call per client method
 * invocation (retries inside the client are not told apart) and cannot add headers; both need
 * hooks in `src/upstream/`.
 */
import { performance } from "node:perf_hooks";
import { type Span, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
} from "@opentelemetry/semantic-conventions";
import type { Logger } from "../logger.ts";
import type { Tracing } from "../tracing.ts";
import type { AiSearchClient } from "../upstream/client.ts";
import type { ChatStream } from "../upstream/stream.ts";
import { once, onIteratorEnd } from "./iterate.ts";
import type { GatewayMetrics } from "./observability/metrics.ts";

export interface UpstreamInstrumentation {
  logger?: Logger;
  metrics?: GatewayMetrics;
  tracing?: Tracing;
}

/** Methods that are lifecycle, not calls to the upstream. */
const NOT_CALLS = new Set<PropertyKey>(["close", "destroy", "constructor"]);

/** `aborted` when the caller cancelled, else the client's error code (`UPSTREAM_NOT_FOUND`, …). */
function outcomeOf(error: unknown): { outcome: string; status: string } {
  const { code, status } = (error ?? {}) as { code?: unknown; status?: unknown };
  const outcome =
    code === "UPSTREAM_ABORTED"
      ? "aborted"
      : typeof code === "string" && /^[A-Z0-9_]{1,64}$/.test(code)
        ? code
        : "ERROR";
  return { outcome, status: typeof status === "number" ? String(status) : "none" };
}

const requestIdIn = (args: readonly unknown[]): string | undefined => {
  const last = args.at(-1) as { requestId?: unknown } | undefined;
  return typeof last?.requestId === "string" ? last.requestId : undefined;
};

/**
 * Relays a chat stream, counting deltas and reporting how it ended: done, broken, or closed
 * by the consumer (iteration stopped, `return()` or `close()`).
 */
function observeChatStream(
  stream: ChatStream,
  onDelta: () => void,
  onEnd: (error?: unknown) => void,
): ChatStream {
  // `close()` ends the stream without going through an iterator, so the end is guarded here too.
  const end = once(onEnd);
  return {
    // One watcher per iteration, so `stream` still refuses a second iteration itself.
    [Symbol.asyncIterator]: () =>
      onIteratorEnd(stream, {
        onValue: (event) => {
          if (event.type === "delta") onDelta();
        },
        onEnd: end,
      }),
    close() {
      end();
      stream.close();
    },
  };
}

/**
 * `client`, with every upstream method measured. A Proxy rather than a subclass: the client's
 * state is in private fields, so methods must run on the original instance.
 */
export function instrumentUpstream(
  client: AiSearchClient,
  instrumentation: UpstreamInstrumentation,
): AiSearchClient {
  const { logger, metrics, tracing } = instrumentation;
  const cache = new Map<PropertyKey, unknown>();

  const report = (
    endpoint: string,
    requestId: string | undefined,
    startedAt: number,
    error: unknown,
    failed: boolean,
  ) => {
    const { outcome, status } = failed ? outcomeOf(error) : { outcome: "ok", status: "2xx" };
    const seconds = (performance.now() - startedAt) / 1000;
    metrics?.observeUpstream(endpoint, outcome, status, seconds);
    logger?.debug(
      { requestId, endpoint, outcome, status, durationMs: Math.round(seconds * 10_000) / 10 },
      "upstream call",
    );
    return { outcome, status };
  };

  const endSpan = (span: Span | undefined, outcome: string, status: string) => {
    if (!span) return;
    if (status !== "none" && status !== "2xx") {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, Number(status));
    }
    if (outcome !== "ok" && outcome !== "aborted") {
      span.setAttribute(ATTR_ERROR_TYPE, outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    }
    span.end();
  };

  const wrap = (endpoint: string, method: (...args: unknown[]) => Promise<unknown>) => {
    const streaming = endpoint.startsWith("stream");
    return async (...args: unknown[]) => {
      const requestId = requestIdIn(args);
      const startedAt = performance.now();
      const span = tracing?.tracer.startSpan(
        `aisearch ${endpoint}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            "aisearch.endpoint": endpoint,
            ...(requestId ? { "gateway.request_id": requestId } : {}),
          },
        },
        tracing.active(),
      );
      let result: unknown;
      try {
        result = await method(...args);
      } catch (error) {
        const { outcome, status } = report(endpoint, requestId, startedAt, error, true);
        endSpan(span, outcome, status);
        throw error;
      }
      report(endpoint, requestId, startedAt, undefined, false);
      if (!streaming) {
        endSpan(span, "ok", "2xx");
        return result;
      }
      // A stream's span lasts as long as the stream; its metric counted the headers above.
      return observeChatStream(
        result as ChatStream,
        () => metrics?.streamDeltas.inc({ endpoint }),
        (error) => {
          if (error === undefined) return endSpan(span, "ok", "2xx");
          const { outcome, status } = outcomeOf(error);
          if (outcome !== "aborted") {
            metrics?.upstreamStreamFailures.inc({ endpoint, outcome });
            logger?.debug({ requestId, endpoint, outcome }, "upstream stream failed");
          }
          endSpan(span, outcome, status);
        },
      );
    };
  };

  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      let bound = cache.get(property);
      if (bound === undefined) {
        const method = value.bind(target) as (...args: unknown[]) => Promise<unknown>;
        bound =
          typeof property === "string" && !NOT_CALLS.has(property)
            ? wrap(property, method)
            : method;
        cache.set(property, bound);
      }
      return bound;
    },
  });
}
