import CircuitBreaker from "opossum";
import {
  UpstreamError,
  UpstreamNetworkError,
  UpstreamServerError,
  UpstreamTimeoutError,
} from "./errors.ts";

export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitOptions {
  /**
   * Calls seen in the rolling window before the circuit may open; fewer never trip it.
   * @default 5
   */
  minimumCalls?: number;
  /**
   * Share of failing calls in the window that opens the circuit, in percent.
   * @default 50
   */
  failurePercent?: number;
  /**
   * How long the circuit stays open before one trial call may go through.
   * @default 10_000
   */
  openMs?: number;
  /**
   * Length of the rolling window failures are counted over.
   * @default 10_000
   */
  windowMs?: number;
  /** Told on every state change, e.g. to update a metric or readiness. */
  onStateChange?: (state: CircuitState) => void;
}

/** The upstream failed repeatedly; calls fail fast until a trial call succeeds. */
export class UpstreamCircuitOpenError extends UpstreamError {
  constructor() {
    super("UPSTREAM_CIRCUIT_OPEN", "AI Search upstream is failing; calls are paused", true);
  }
}

/**
 * Only failures that say the upstream itself is unwell count: a 404, a 429 or a caller's abort
 * says nothing about its health, and must not stop everyone else's calls.
 */
function isUpstreamHealthFailure(error: unknown): boolean {
  return (
    error instanceof UpstreamNetworkError ||
    error instanceof UpstreamServerError ||
    error instanceof UpstreamTimeoutError
  );
}

/** A circuit breaker (opossum) shared by every call to one upstream origin. */
export class UpstreamCircuit {
  readonly #breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;

  constructor(options: CircuitOptions = {}) {
    this.#breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      // Calls carry their own deadlines and idle timeouts; a second timer here would only race them.
      timeout: false,
      volumeThreshold: options.minimumCalls ?? 5,
      errorThresholdPercentage: options.failurePercent ?? 50,
      resetTimeout: options.openMs ?? 10_000,
      rollingCountTimeout: options.windowMs ?? 10_000,
      errorFilter: (error: unknown) => !isUpstreamHealthFailure(error),
    });
    const notify = options.onStateChange;
    if (notify) {
      this.#breaker.on("open", () => notify("open"));
      this.#breaker.on("halfOpen", () => notify("half-open"));
      this.#breaker.on("close", () => notify("closed"));
    }
  }

  get state(): CircuitState {
    if (this.#breaker.opened) return "open";
    return this.#breaker.halfOpen ? "half-open" : "closed";
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return (await this.#breaker.fire(call)) as T;
    } catch (error) {
      if ((error as { code?: string }).code === "EOPENBREAKER")
        throw new UpstreamCircuitOpenError();
      throw error;
    }
  }

  /** Stops the breaker's window timer so a closed client leaves nothing running. */
  shutdown(): void {
    this.#breaker.shutdown();
  }
}
