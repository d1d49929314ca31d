import type { Plugin } from "graphql-yoga";
import type { LoaderBatchObserver } from "../../loaders.ts";
import type { Logger } from "../../logger.ts";
import type { Tracing } from "../../tracing.ts";
import { useGracefulShutdown } from "../plugins/useGracefulShutdown.ts";
import type { Drain } from "../transports/shutdown.ts";
import { useRequestLogging } from "./log-sink.ts";
import { type GatewayMetrics, useMetrics } from "./metrics.ts";
import { useTracing } from "./trace-sink.ts";

/** What one app observes itself with, and its shutdown state; each part is optional. */
export interface Observability {
  logger?: Logger;
  /** Unset when `METRICS=false`. */
  metrics?: GatewayMetrics;
  /** Unset unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set. */
  tracing?: Tracing;
  drain?: Drain;
}

/**
 * The plugins for `observability`, to go right after `useRequestId` and before every gate:
 * observers first, so operations refused by a later plugin are still logged, counted and
 * traced; the shutdown plugin before `useHealth`, which would otherwise answer `/readyz`.
 */
export function observabilityPlugins(observability: Observability): Plugin[] {
  const { logger, metrics, tracing, drain } = observability;
  return [
    ...(logger ? [useRequestLogging({ logger })] : []),
    ...(tracing ? [useTracing({ tracing })] : []),
    ...(metrics ? [useMetrics({ metrics })] : []),
    ...(drain ? [useGracefulShutdown({ drain })] : []),
  ];
}

/** The per-operation hooks `createContext` takes from `observability`. */
export function contextHooks(observability: Observability): {
  shutdown?: AbortSignal;
  onLoaderBatch?: LoaderBatchObserver;
} {
  return {
    shutdown: observability.drain?.signal,
    onLoaderBatch: observability.metrics?.observeLoaderBatch,
  };
}
