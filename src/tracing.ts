/**
 * OpenTelemetry tracing, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Nothing here touches
 * OpenTelemetry's globals (no global provider, context manager or propagator): each app owns
 * its provider and carries the active span in an AsyncLocalStorage of its own, so two apps in
 * one process, or a host application with its own tracing, never see each other's spans.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { IncomingHttpHeaders } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Context,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type TextMapGetter,
  type Tracer,
} from "@opentelemetry/api";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { GatewayConfig } from "./config.ts";

export const SERVICE_NAME = "aisearch-graphql-gateway";
/** The last export at shutdown gets this long: an unreachable collector must not hold the exit. */
const SHUTDOWN_FLUSH_MS = 2_000;

export interface Tracing {
  readonly tracer: Tracer;
  /** The context of the operation being executed, or the root context outside any. */
  active(): Context;
  /** Runs `fn` (and everything it starts asynchronously) with `context` active. */
  run<T>(context: Context, fn: () => T): T;
  /** The caller's trace context from a W3C `traceparent` header, or the root context. */
  extract(headers: Headers | IncomingHttpHeaders | undefined): Context;
  /** `traceparent` (and `tracestate`) headers continuing `context`, for an outgoing call. */
  inject(context: Context): Record<string, string>;
  /** Exports what is buffered (for at most 2 s), then stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /**
   * Receives finished spans instead of the OTLP exporter, e.g. a `SimpleSpanProcessor` over an
   * `InMemorySpanExporter` in tests. Tracing is still on only when an endpoint is configured.
   * @default a `BatchSpanProcessor` exporting over OTLP/HTTP to `<endpoint>/v1/traces`
   */
  spanProcessor?: SpanProcessor;
}

/** Fetch `Headers` (whichever implementation the server adapter uses) or Node's header object. */
const isFetchHeaders = (carrier: Headers | IncomingHttpHeaders): carrier is Headers =>
  typeof (carrier as Headers).get === "function";

const headerGetter: TextMapGetter<Headers | IncomingHttpHeaders> = {
  keys: (carrier) => (isFetchHeaders(carrier) ? [...carrier.keys()] : Object.keys(carrier)),
  get: (carrier, key) =>
    isFetchHeaders(carrier) ? (carrier.get(key) ?? undefined) : carrier[key.toLowerCase()],
};

/**
 * The tracing of one app, or `undefined` when no OTLP endpoint is configured. The SDK and its
 * exporter are imported only then: a gateway without tracing (the default) does not hold them.
 */
export async function createTracing(
  config: Pick<GatewayConfig, "otlpEndpoint">,
  options: TracingOptions = {},
): Promise<Tracing | undefined> {
  if (!config.otlpEndpoint) return undefined;
  const [
    { W3CTraceContextPropagator },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { BasicTracerProvider, BatchSpanProcessor },
    { ATTR_SERVICE_NAME },
  ] = await Promise.all([
    import("@opentelemetry/core"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  // The variable names the collector's base URL; OTLP/HTTP puts traces under /v1/traces.
  const url = `${config.otlpEndpoint.replace(/\/+$/, "")}/v1/traces`;
  const processor = options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter({ url }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: SERVICE_NAME }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer(SERVICE_NAME);
  const storage = new AsyncLocalStorage<Context>();
  const propagator = new W3CTraceContextPropagator();
  return {
    tracer,
    active: () => storage.getStore() ?? ROOT_CONTEXT,
    run: (context, fn) => storage.run(context, fn),
    extract: (headers) =>
      headers ? propagator.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT,
    inject(context) {
      const carrier: Record<string, string> = {};
      propagator.inject(context, carrier, defaultTextMapSetter);
      return carrier;
    },
    async shutdown() {
      const timer = new AbortController();
      try {
        await Promise.race([
          provider.shutdown(),
          sleep(SHUTDOWN_FLUSH_MS, undefined, { signal: timer.signal }),
        ]);
      } finally {
        timer.abort();
      }
    },
  };
}
