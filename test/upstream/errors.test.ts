import { describe, expect, it } from "vitest";
import {
  errorFromStatus,
  InvalidCredentialsError,
  InvalidNameError,
  UpstreamAbortedError,
  UpstreamApiError,
  UpstreamBadRequestError,
  UpstreamConflictError,
  UpstreamError,
  UpstreamForbiddenError,
  UpstreamHttpError,
  UpstreamNetworkError,
  UpstreamNotFoundError,
  UpstreamPayloadTooLargeError,
  UpstreamProtocolError,
  UpstreamRateLimitedError,
  UpstreamRedirectError,
  UpstreamRequestTimeoutError,
  UpstreamServerError,
  UpstreamTimeoutError,
  UpstreamUnauthenticatedError,
} from "../../src/upstream/errors.ts";

describe("errorFromStatus", () => {
  it.each([
    [301, UpstreamRedirectError, "UPSTREAM_REDIRECT", false],
    [302, UpstreamRedirectError, "UPSTREAM_REDIRECT", false],
    [307, UpstreamRedirectError, "UPSTREAM_REDIRECT", false],
    [400, UpstreamBadRequestError, "UPSTREAM_BAD_REQUEST", false],
    [401, UpstreamUnauthenticatedError, "UPSTREAM_UNAUTHENTICATED", false],
    [403, UpstreamForbiddenError, "UPSTREAM_FORBIDDEN", false],
    [404, UpstreamNotFoundError, "UPSTREAM_NOT_FOUND", false],
    [408, UpstreamRequestTimeoutError, "UPSTREAM_REQUEST_TIMEOUT", true],
    [409, UpstreamConflictError, "UPSTREAM_CONFLICT", false],
    [413, UpstreamPayloadTooLargeError, "UPSTREAM_PAYLOAD_TOO_LARGE", false],
    [429, UpstreamRateLimitedError, "UPSTREAM_RATE_LIMITED", true],
    [500, UpstreamServerError, "UPSTREAM_SERVER_ERROR", true],
    [502, UpstreamServerError, "UPSTREAM_SERVER_ERROR", true],
    [599, UpstreamServerError, "UPSTREAM_SERVER_ERROR", true],
    [200, UpstreamApiError, "UPSTREAM_API_ERROR", false],
    [418, UpstreamHttpError, "UPSTREAM_HTTP_ERROR", false],
    [422, UpstreamHttpError, "UPSTREAM_HTTP_ERROR", false],
  ] as const)("%d → %o %s retryable=%s", (status, cls, code, retryable) => {
    const error = errorFromStatus(status);
    expect(error.constructor).toBe(cls);
    expect(error).toBeInstanceOf(UpstreamHttpError);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.status).toBe(status);
    expect(error.name).toBe(cls.name);
    expect(error.message).toBe(`AI Search upstream answered HTTP ${status}`);
    expect(error.cloudflareErrors).toEqual([]);
  });

  it("keeps Cloudflare errors and retry hints on properties, not in the message", () => {
    const error = errorFromStatus(429, {
      cloudflareErrors: [{ code: 10429, message: "Too many requests for account 0123abcd" }],
      retryAfterMs: 1500,
      shouldRetry: true,
      ray: "8a1b2c3d4e5f-AMS",
    });
    expect(error).toBeInstanceOf(UpstreamRateLimitedError);
    expect(error.cloudflareErrors).toEqual([
      { code: 10429, message: "Too many requests for account 0123abcd" },
    ]);
    expect(error.retryAfterMs).toBe(1500);
    expect(error.shouldRetry).toBe(true);
    expect(error.ray).toBe("8a1b2c3d4e5f-AMS");
    expect(error.message).not.toContain("account");
    expect(String(error)).toBe("UpstreamRateLimitedError: AI Search upstream answered HTTP 429");
  });
});

describe("the other error classes", () => {
  it.each([
    [new UpstreamTimeoutError("idle", 50), "UPSTREAM_TIMEOUT", true, /timed out \(idle\)/],
    [
      new UpstreamNetworkError("ECONNREFUSED", true),
      "UPSTREAM_NETWORK_ERROR",
      true,
      /ECONNREFUSED/,
    ],
    [new UpstreamProtocolError("missing-done"), "UPSTREAM_PROTOCOL_ERROR", false, /missing-done/],
    [new UpstreamAbortedError(), "UPSTREAM_ABORTED", false, /aborted/],
    [new InvalidNameError("namespace", "^x$"), "INVALID_NAME", false, /namespace name/],
    [new InvalidCredentialsError("token"), "INVALID_CREDENTIALS", false, /malformed token/],
    [
      new InvalidCredentialsError("missing"),
      "MISSING_CREDENTIALS",
      false,
      /No AI Search credentials/,
    ],
  ] as const)("%o has code %s, retryable %s", (error, code, retryable, message) => {
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toMatch(message);
    expect(error.name).toBe(error.constructor.name);
  });

  it("records the timeout phase and the network failure's send state", () => {
    expect(new UpstreamTimeoutError("deadline", 60_000).phase).toBe("deadline");
    expect(new UpstreamTimeoutError("deadline", 60_000).timeoutMs).toBe(60_000);
    expect(new UpstreamNetworkError("ECONNRESET", false).beforeSend).toBe(false);
  });
});
