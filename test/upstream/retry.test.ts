import { describe, expect, it } from "vitest";
import {
  errorFromStatus,
  InvalidNameError,
  UpstreamAbortedError,
  UpstreamNetworkError,
  UpstreamProtocolError,
  UpstreamTimeoutError,
} from "../../src/upstream/errors.ts";
import {
  backoffMs,
  type CallKind,
  DEFAULT_RETRY,
  isRetryable,
  parseRetryAfter,
  parseShouldRetry,
  type RetryOptions,
  retryDelayMs,
} from "../../src/upstream/retry.ts";

const NOW = Date.parse("2026-03-01T12:00:00Z");

function policy(overrides: Partial<RetryOptions> = {}): RetryOptions {
  return { ...DEFAULT_RETRY, random: () => 0.5, ...overrides };
}

describe("parseRetryAfter", () => {
  it.each([
    [{ "retry-after": "3" }, 3000],
    [{ "retry-after": " 0 " }, 0],
    [{ "retry-after": "120" }, 120_000],
    [{ "retry-after-ms": "250" }, 250],
    [{ "retry-after-ms": "12.2" }, 13],
    [{ "retry-after-ms": "100", "retry-after": "9" }, 100],
    [{ "retry-after-ms": "junk", "retry-after": "2" }, 2000],
    [{ "retry-after": "Sun, 01 Mar 2026 12:00:05 GMT" }, 5000],
    [{ "retry-after": "Sun, 01 Mar 2026 11:59:00 GMT" }, 0],
    [{ "retry-after": ["4", "9"] }, 4000],
  ])("%j → %d ms", (headers, expected) => {
    expect(parseRetryAfter(headers, NOW)).toBe(expected);
  });

  it.each([
    [{}],
    [{ "retry-after": "" }],
    [{ "retry-after": "-5" }],
    [{ "retry-after": "1.5" }],
    [{ "retry-after": "soon" }],
    [{ "retry-after": "12:00" }],
    [{ "retry-after-ms": "-1" }],
  ])("%j → undefined (fall back to backoff)", (headers) => {
    expect(parseRetryAfter(headers, NOW)).toBeUndefined();
  });
});

describe("parseShouldRetry", () => {
  it("reads true/false case-insensitively and ignores anything else", () => {
    expect(parseShouldRetry({ "x-should-retry": "true" })).toBe(true);
    expect(parseShouldRetry({ "x-should-retry": "FALSE" })).toBe(false);
    expect(parseShouldRetry({ "x-should-retry": "maybe" })).toBeUndefined();
    expect(parseShouldRetry({})).toBeUndefined();
  });
});

describe("backoffMs", () => {
  it("is full jitter: [0, min(cap, base·2^n)) for random in [0, 1)", () => {
    const options = { baseDelayMs: 250, maxDelayMs: 8000 };
    for (let n = 0; n < 10; n++) {
      const ceiling = Math.min(8000, 250 * 2 ** n);
      expect(backoffMs(n, { ...options, random: () => 0 })).toBe(0);
      expect(backoffMs(n, { ...options, random: () => 0.999999 })).toBe(ceiling - 1);
      expect(backoffMs(n, { ...options, random: () => 0.5 })).toBe(ceiling / 2);
    }
  });

  it("treats a misbehaving random source as 0 rather than exceeding the cap", () => {
    const options = { baseDelayMs: 250, maxDelayMs: 8000 };
    expect(backoffMs(3, { ...options, random: () => 1 })).toBe(0);
    expect(backoffMs(3, { ...options, random: () => Number.NaN })).toBe(0);
    expect(backoffMs(3, { ...options, random: () => 7 })).toBe(0);
  });

  it("stays within bounds for many real random draws", () => {
    for (let i = 0; i < 1000; i++) {
      const n = i % 8;
      const delay = backoffMs(n, { baseDelayMs: 100, maxDelayMs: 1000, random: Math.random });
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(1000, 100 * 2 ** n));
    }
  });
});

describe("isRetryable", () => {
  const rows: [string, unknown, read: boolean, completion: boolean][] = [
    ["400", errorFromStatus(400), false, false],
    ["401", errorFromStatus(401), false, false],
    ["404", errorFromStatus(404), false, false],
    ["408", errorFromStatus(408), true, false],
    ["409", errorFromStatus(409), false, false],
    ["429", errorFromStatus(429), true, true],
    ["429 + x-should-retry:false", errorFromStatus(429, { shouldRetry: false }), false, false],
    ["500", errorFromStatus(500), true, false],
    ["503", errorFromStatus(503), true, false],
    ["503 + x-should-retry:false", errorFromStatus(503, { shouldRetry: false }), false, false],
    ["409 + x-should-retry:true", errorFromStatus(409, { shouldRetry: true }), true, false],
    ["302", errorFromStatus(302), false, false],
    ["ECONNREFUSED (before send)", new UpstreamNetworkError("ECONNREFUSED", true), true, true],
    ["ECONNRESET (maybe sent)", new UpstreamNetworkError("ECONNRESET", false), true, false],
    ["connect timeout", new UpstreamTimeoutError("connect"), true, true],
    ["headers timeout", new UpstreamTimeoutError("headers"), true, false],
    ["idle timeout", new UpstreamTimeoutError("idle"), true, false],
    ["deadline", new UpstreamTimeoutError("deadline"), false, false],
    ["protocol", new UpstreamProtocolError("malformed-json"), false, false],
    ["aborted", new UpstreamAbortedError(), false, false],
    ["invalid name", new InvalidNameError("namespace", "x"), false, false],
    ["plain Error", new Error("x"), false, false],
  ];
  const cases = rows.map(([label, error, read, completion]) => ({
    label,
    error,
    read,
    completion,
  }));
  it.each(cases)("$label: read=$read completion=$completion", ({ error, read, completion }) => {
    expect(isRetryable(error, "read")).toBe(read);
    expect(isRetryable(error, "completion")).toBe(completion);
  });
});

describe("retryDelayMs", () => {
  it("gives up after maxRetries", () => {
    const error = errorFromStatus(503);
    const options = policy({ maxRetries: 2 });
    expect(retryDelayMs(error, "read", 0, options)).toBeDefined();
    expect(retryDelayMs(error, "read", 1, options)).toBeDefined();
    expect(retryDelayMs(error, "read", 2, options)).toBeUndefined();
    expect(retryDelayMs(error, "read", 0, policy({ maxRetries: 0 }))).toBeUndefined();
  });

  it("uses the jittered backoff without Retry-After", () => {
    const error = errorFromStatus(500);
    expect(retryDelayMs(error, "read", 0, policy())).toBe(125);
    expect(retryDelayMs(error, "read", 1, policy())).toBe(250);
    expect(retryDelayMs(error, "read", 1, policy({ random: () => 0.1 }))).toBe(50);
  });

  it("waits exactly the Retry-After the upstream asked for, within maxRetryAfterMs", () => {
    const kinds: CallKind[] = ["read", "completion"];
    for (const kind of kinds) {
      expect(retryDelayMs(errorFromStatus(429, { retryAfterMs: 1000 }), kind, 0, policy())).toBe(
        1000,
      );
      expect(retryDelayMs(errorFromStatus(429, { retryAfterMs: 0 }), kind, 1, policy())).toBe(0);
      expect(retryDelayMs(errorFromStatus(429, { retryAfterMs: 30_000 }), kind, 0, policy())).toBe(
        30_000,
      );
    }
  });

  it("does not retry when Retry-After exceeds maxRetryAfterMs", () => {
    const error = errorFromStatus(429, { retryAfterMs: 30_001 });
    expect(retryDelayMs(error, "read", 0, policy())).toBeUndefined();
    expect(retryDelayMs(error, "read", 0, policy({ maxRetryAfterMs: 60_000 }))).toBe(30_001);
  });

  it("does not retry when the wait would outlast the remaining deadline", () => {
    const error = errorFromStatus(429, { retryAfterMs: 2000 });
    expect(retryDelayMs(error, "read", 0, policy(), 1999)).toBeUndefined();
    expect(retryDelayMs(error, "read", 0, policy(), 2001)).toBe(2000);
  });

  it("never retries a completion the upstream may have started", () => {
    for (const error of [
      errorFromStatus(500),
      errorFromStatus(503, { retryAfterMs: 10 }),
      new UpstreamNetworkError("UND_ERR_SOCKET", false),
      new UpstreamTimeoutError("headers"),
      new UpstreamTimeoutError("idle"),
    ]) {
      expect(retryDelayMs(error, "completion", 0, policy())).toBeUndefined();
    }
    expect(
      retryDelayMs(new UpstreamNetworkError("ECONNREFUSED", true), "completion", 0, policy()),
    ).toBe(125);
  });
});
