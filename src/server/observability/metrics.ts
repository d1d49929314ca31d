import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** States of the upstream circuit breaker, as the `state` label of its gauge. */
export type CircuitState = "closed" | "open" | "half-open";
const CIRCUIT_STATES: readonly CircuitState[] = ["closed", "open", "half-open"];

/** The DataLoaders of `src/loaders.ts`, as the `loader` label. */
export type LoaderName = "namespace" | "instance" | "instanceStats" | "item" | "itemByKey" | "job";

export interface GatewayMetricsOptions {
  /**
   * Distinct operation names given their own label value; later names count as `other`.
   * Clients choose operation names, so an unbounded label would let them grow the registry.
   * @default 200
   */
  maxOperationNames?: number;
  /**
   * Also collect Node's process metrics (CPU, memory, event loop lag, GC) into this registry.
   * @default true
   */
  processMetrics?: boolean;
}

/** Latency buckets from 5 ms to 2 minutes: cheap reads at the bottom, long streams at the top. */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;

/**
 * The gateway's Prometheus metrics, in a registry of its own: two apps in one process (tests,
 * benchmarks) never share or collide on a series, and nothing else in the process writes here.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly operations: Counter<"operation_name" | "operation_type" | "transport" | "outcome">;
  readonly operationDuration: Histogram<"operation_name" | "operation_type" | "transport">;
  readonly refusedRequests: Counter<"status">;
  readonly upstreamRequests: Counter<"endpoint" | "status" | "outcome">;
  readonly upstreamDuration: Histogram<"endpoint" | "outcome">;
  readonly upstreamStreamFailures: Counter<"endpoint" | "outcome">;
  readonly activeSubscriptions: Gauge<"transport">;
  readonly streamDeltas: Counter<"endpoint">;
  readonly loaderBatchSize: Histogram<"loader">;
  readonly circuitState: Gauge<"state">;
  readonly redisFallbacks: Counter<"piece">;
  readonly redisUp: Gauge;
  readonly resumableStreams: Gauge<"state">;
  readonly #maxNames: number;
  readonly #names = new Set<string>();
  #readCircuit: (() => CircuitState) | undefined;
  #readRedis: (() => boolean) | undefined;
  #readStreams: (() => Record<"live" | "grace" | "finished", number>) | undefined;

  constructor(options: GatewayMetricsOptions = {}) {
    this.#maxNames = options.maxOperationNames ?? 200;
    const registers = [this.registry];
    this.operations = new Counter({
      name: "gateway_graphql_operations_total",
      help: "GraphQL operations by name, type, transport and outcome (ok, or the first error code).",
      labelNames: ["operation_name", "operation_type", "transport", "outcome"],
      registers,
    });
    this.operationDuration = new Histogram({
      name: "gateway_graphql_operation_duration_seconds",
      help: "Time from a request's arrival to its response; for subscriptions, the stream's life.",
      labelNames: ["operation_name", "operation_type", "transport"],
      buckets: SECONDS,
      registers,
    });
    this.refusedRequests = new Counter({
      name: "gateway_http_refused_requests_total",
      help: "Requests to the GraphQL endpoint refused before any operation ran (auth, rate limit, CSRF, size), by status.",
      labelNames: ["status"],
      registers,
    });
    this.upstreamRequests = new Counter({
      name: "gateway_upstream_requests_total",
      help: "Requests to AI Search by client method, each retry counted on its own; status is 2xx, another HTTP status, or none when no response came.",
      labelNames: ["endpoint", "status", "outcome"],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: "gateway_upstream_request_duration_seconds",
      help: "Duration of each request to AI Search (each retry on its own); for streams, the time to the response headers.",
      labelNames: ["endpoint", "outcome"],
      buckets: SECONDS,
      registers,
    });
    this.upstreamStreamFailures = new Counter({
      name: "gateway_upstream_stream_failures_total",
      help: "Upstream streams that broke after their headers (cancellations by the subscriber excluded).",
      labelNames: ["endpoint", "outcome"],
      registers,
    });
    this.activeSubscriptions = new Gauge({
      name: "gateway_active_subscriptions",
      help: "Subscription streams currently open, by transport (sse, ws).",
      labelNames: ["transport"],
      registers,
    });
    this.streamDeltas = new Counter({
      name: "gateway_stream_deltas_relayed_total",
      help: "Answer deltas read from upstream streams and handed to subscribers.",
      labelNames: ["endpoint"],
      registers,
    });
    this.loaderBatchSize = new Histogram({
      name: "gateway_loader_batch_size",
      help: "Keys per DataLoader batch.",
      labelNames: ["loader"],
      buckets: [1, 2, 3, 5, 10, 20, 50, 100],
      registers,
    });
    this.circuitState = new Gauge({
      name: "gateway_upstream_circuit_state",
      help: "1 for the upstream circuit breaker's current state (closed, open, half-open), 0 for the others.",
      labelNames: ["state"],
      registers,
      collect: () => {
        if (this.#readCircuit) this.setCircuitState(this.#readCircuit());
      },
    });
    this.setCircuitState("closed");
    this.redisFallbacks = new Counter({
      name: "gateway_redis_fallbacks_total",
      help: "Decisions taken without Redis because it was down or slow, by piece (rate_limit, subscription_caps, connection_caps, stream_log, resume).",
      labelNames: ["piece"],
      registers,
    });
    this.redisUp = new Gauge({
      name: "gateway_redis_up",
      help: "1 while both Redis connections are ready, else 0 (absent without REDIS_URL).",
      registers: [],
      collect: () => {
        if (this.#readRedis) this.redisUp.set(this.#readRedis() ? 1 : 0);
      },
    });
    this.resumableStreams = new Gauge({
      name: "gateway_resumable_streams",
      help: "Streams this replica holds: live (followed), grace (nobody follows, may be resumed) and finished (kept for resume).",
      labelNames: ["state"],
      registers,
      collect: () => {
        const counts = this.#readStreams?.();
        if (!counts) return;
        for (const [state, count] of Object.entries(counts)) {
          this.resumableStreams.set({ state }, count);
        }
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** A bounded label value for a client-chosen operation name. */
  operationName(name: string | undefined): string {
    if (name === undefined) return "anonymous";
    if (!GRAPHQL_NAME.test(name)) return "other";
    if (this.#names.has(name)) return name;
    if (this.#names.size >= this.#maxNames) return "other";
    this.#names.add(name);
    return name;
  }

  /**
   * For the upstream circuit breaker: call on every state change. The breaker lives with the
   * upstream client, which must not depend on metrics; pass it this method as a callback.
   */
  setCircuitState = (state: CircuitState): void => {
    for (const candidate of CIRCUIT_STATES) {
      this.circuitState.set({ state: candidate }, candidate === state ? 1 : 0);
    }
  };

  /** Or: reads the breaker's state at every scrape, for a breaker that can be asked. */
  watchCircuit(read: () => CircuitState): void {
    this.#readCircuit = read;
  }

  /** Reads whether Redis is up at every scrape; registers `gateway_redis_up`. */
  watchRedis(read: () => boolean): void {
    this.#readRedis = read;
    this.registry.registerMetric(this.redisUp);
  }

  /** Reads the resumable streams' counts at every scrape. */
  watchStreams(read: () => Record<"live" | "grace" | "finished", number>): void {
    this.#readStreams = read;
  }

  /** The DataLoader hook of `createLoaders`: one observation per batch. */
  observeLoaderBatch = (loader: LoaderName, size: number): void => {
    this.loaderBatchSize.observe({ loader }, size);
  };

  observeUpstream(endpoint: string, outcome: string, status: string, seconds: number): void {
    this.upstreamRequests.inc({ endpoint, status, outcome });
    this.upstreamDuration.observe({ endpoint, outcome }, seconds);
  }

  /** The text exposition, for `/metrics`. */
  async expose(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
