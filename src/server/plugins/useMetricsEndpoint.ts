import type { Plugin } from "graphql-yoga";
import type { GatewayMetrics } from "../observability/metrics.ts";

export interface MetricsEndpointOptions {
  metrics: GatewayMetrics;
  /**
   * Where Prometheus scrapes. Public (see `useClientAuth`'s public paths), like the probes:
   * keep it off the internet at the load balancer, or turn metrics off with `METRICS=false`.
   * @default "/metrics"
   */
  path?: string;
}

/** Serves the registry in Prometheus' text format; the counting is `metricsSink`'s. */
export function useMetricsEndpoint(options: MetricsEndpointOptions): Plugin {
  const { metrics } = options;
  const path = options.path ?? "/metrics";
  return {
    // Not `async`: every other request passes through here, and a promise for nothing would
    // make the rest of Yoga's `onRequest` hooks run through promise chains.
    onRequest({ request, url, endResponse }) {
      if (url.pathname !== path) return;
      if (request.method !== "GET" && request.method !== "HEAD") {
        endResponse(new Response(null, { status: 405, headers: { allow: "GET, HEAD" } }));
        return;
      }
      return metrics.expose().then(({ body, contentType }) => {
        endResponse(
          new Response(request.method === "HEAD" ? null : body, {
            headers: { "content-type": contentType, "cache-control": "no-store" },
          }),
        );
      });
    },
  };
}
