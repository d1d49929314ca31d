/**
 * When and how long to wait before trying an upstream call again.
 *
 * Reads (GETs and the search POSTs, which have no side effects) retry on 408, 429, 5xx,
 * connection failures and connect/headers/idle timeouts, like the official SDK. A chat
 * completion costs model tokens and may have started generating, so it is retried only when
 * the upstream cannot have started it: the connection failed before the request was sent, or
 * the upstream answered 429. Streams are never retried once the response was handed to the
 * caller — the client only calls this before that point.
 *
 * Management writes (creating, changing, deleting, starting a sync) are retried only when the
 * upstream cannot have applied them: the connection failed before the request was sent, or a
 * plain 429 refused it (never a sync cooldown, which is the caller's to wait out). An upload's
 * body is the caller's stream, read once, so an upload is never retried.
 */
import { setTimeout as sleepTimer } from "node:timers/promises";
import { UpstreamHttpError, UpstreamNetworkError, UpstreamTimeoutError } from "./errors.ts";

export type CallKind = "read" | "completion" | "write" | "upload";

export interface RetryOptions {
  /**
   * Retries after the first attempt (so at most `maxRetries + 1` requests).
   * @default 2
   */
  maxRetries: number;
  /**
   * Ceiling of the first retry's jittered backoff; retry n (0-based) waits up to
   * `baseDelayMs * 2^n`, capped by `maxDelayMs`.
   * @default 250
   */
  baseDelayMs: number;
  /**
   * Cap on a computed backoff (not on a `Retry-After` the upstream asked for).
   * @default 8000
   */
  maxDelayMs: number;
  /**
   * Longest `Retry-After` we wait out. A longer one fails the call at once with the
   * rate-limited (or server) error carrying `retryAfterMs`, so the gateway can pass it on.
   * @default 30000
   */
  maxRetryAfterMs: number;
  /**
   * Uniform random in [0, 1) for full jitter; injectable for deterministic tests.
   * @default Math.random
   */
  random: () => number;
  /**
   * Waits `ms`, rejecting at once when `signal` aborts; injectable for tests.
   * @default node:timers/promises setTimeout
   */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The retry defaults; every field is documented on {@link RetryOptions}. */
export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({
  maxRetries: 2,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
  random: Math.random,
  sleep: async (ms: number, signal: AbortSignal) => {
    await sleepTimer(ms, undefined, { signal });
  },
});

export type HeaderBag = Record<string, string | string[] | undefined>;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The delay the upstream asked for, in ms from `nowMs`: `retry-after-ms` wins over
 * `Retry-After` (seconds or an HTTP date). A date in the past gives 0 — retry promptly.
 * Garbage gives undefined, so the computed backoff applies instead.
 */
export function parseRetryAfter(headers: HeaderBag, nowMs = Date.now()): number | undefined {
  const ms = first(headers["retry-after-ms"])?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));

  const value = first(headers["retry-after"])?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Only IMF-fixdate-looking values: Date.parse also accepts "1" or "-5" as years.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** `x-should-retry: true|false`, the upstream's explicit verdict; anything else is no verdict. */
export function parseShouldRetry(headers: HeaderBag): boolean | undefined {
  const value = first(headers["x-should-retry"])?.trim().toLowerCase();
  if (value === "true") return true;
  if (value === "false") return false;
  return undefined;
}

/** Full jitter: uniform in [0, min(maxDelayMs, baseDelayMs · 2^retryIndex)). */
export function backoffMs(
  retryIndex: number,
  options: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs" | "random">,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retryIndex);
  const r = options.random();
  const unit = r >= 0 && r < 1 ? r : 0;
  return Math.floor(unit * ceiling);
}

/** Whether `error` may be retried for this kind of call, ignoring budgets and delays. */
export function isRetryable(error: unknown, kind: CallKind): boolean {
  if (kind === "upload") return false;
  if (error instanceof UpstreamHttpError) {
    if (error.shouldRetry === false) return false;
    // Even `x-should-retry: true` does not make a completion safe: only a 429 proves the
    // upstream refused it before generating anything.
    if (kind === "completion") return error.status === 429;
    // The same for a write, except a 429 that is a refusal of its own (a sync cooldown).
    if (kind === "write") return error.code === "UPSTREAM_RATE_LIMITED";
    if (error.shouldRetry === true) return true;
    return error.status === 408 || error.status === 429 || error.status >= 500;
  }
  if (error instanceof UpstreamNetworkError) {
    return kind === "read" || error.beforeSend;
  }
  if (error instanceof UpstreamTimeoutError) {
    if (error.phase === "deadline") return false;
    return kind === "read" || error.phase === "connect";
  }
  return false;
}

/**
 * How long to wait before retry number `retryIndex` (0-based), or undefined to give up and
 * throw `error`. `remainingMs` is what is left of the call's deadline: a wait that would
 * outlast it is pointless, so the call fails now with the real cause instead of a timeout.
 */
export function retryDelayMs(
  error: unknown,
  kind: CallKind,
  retryIndex: number,
  options: RetryOptions,
  remainingMs?: number,
): number | undefined {
  if (retryIndex >= options.maxRetries || !isRetryable(error, kind)) return undefined;
  let delay: number;
  if (error instanceof UpstreamHttpError && error.retryAfterMs !== undefined) {
    if (error.retryAfterMs > options.maxRetryAfterMs) return undefined;
    delay = error.retryAfterMs;
  } else {
    delay = backoffMs(retryIndex, options);
  }
  if (remainingMs !== undefined && delay >= remainingMs) return undefined;
  return delay;
}
