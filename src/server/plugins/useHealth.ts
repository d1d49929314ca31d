import type { Plugin } from "graphql-yoga";
import { jsonResponse } from "../responses.ts";

export interface HealthOptions {
  /** Resolves when the upstream answered a cheap request; rejects otherwise. */
  probeUpstream: () => Promise<void>;
  /**
   * False while calls to the upstream fail fast (its circuit is open): the instance is alive
   * but cannot serve, so a load balancer should send traffic elsewhere.
   * @default () => true
   */
  upstreamAvailable?: () => boolean;
  /**
   * Whether Redis answers, when it is configured: said in the readiness body, never a reason
   * to be unready, since every piece falls back without it and a Redis blip must not empty
   * the load balancer.
   * @default undefined (no Redis)
   */
  redisUp?: () => boolean;
  /**
   * Path answering 200 while the process runs (liveness).
   * @default "/healthz"
   */
  healthPath?: string;
  /**
   * Path answering 200 once the upstream has answered, 503 before (readiness).
   * @default "/readyz"
   */
  readyPath?: string;
  /**
   * While not ready, how often a readiness request may re-probe the upstream.
   * @default 1000
   */
  reprobeIntervalMs?: number;
  /**
   * Probe once as soon as Yoga is built, so readiness latches without waiting for the first
   * `/readyz` request.
   * @default true
   */
  probeAtStart?: boolean;
}

// Probes have always been answered without a charset parameter; kept so nothing keyed on it breaks.
const json = (status: number, body: object) =>
  jsonResponse(status, body, { "content-type": "application/json" });

/** Liveness and readiness endpoints. Readiness latches once the upstream has answered. */
export function useHealth(options: HealthOptions): Plugin {
  const healthPath = options.healthPath ?? "/healthz";
  const readyPath = options.readyPath ?? "/readyz";
  const interval = options.reprobeIntervalMs ?? 1000;
  const available = options.upstreamAvailable ?? (() => true);
  let ready = false;
  let lastProbe = 0;
  let probing: Promise<boolean> | undefined;

  const probe = (): Promise<boolean> => {
    probing ??= options
      .probeUpstream()
      .then(() => (ready = true))
      .catch(() => false)
      .finally(() => {
        lastProbe = Date.now();
        probing = undefined;
      });
    return probing;
  };

  return {
    onYogaInit() {
      if (options.probeAtStart ?? true) void probe();
    },
    // Not `async`: only the probes' paths may wait (for a probe of the upstream), and a promise
    // for every other request would make the rest of Yoga's `onRequest` hooks chain on it.
    onRequest({ url, endResponse }) {
      if (url.pathname === healthPath) {
        endResponse(json(200, { status: "ok" }));
      } else if (url.pathname === readyPath) {
        const answer = () => {
          if (!ready) endResponse(json(503, { status: "starting" }));
          else if (!available()) endResponse(json(503, { status: "upstream-unavailable" }));
          else if (options.redisUp) {
            endResponse(json(200, { status: "ready", redis: options.redisUp() ? "up" : "down" }));
          } else endResponse(json(200, { status: "ready" }));
        };
        if (!ready && Date.now() - lastProbe >= interval) return probe().then(answer);
        answer();
      }
    },
  };
}
