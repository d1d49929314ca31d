import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { badUserInput, describeError } from "../src/graphql-errors.ts";
import { UpstreamCircuitOpenError } from "../src/upstream/circuit.ts";
import {
  errorFromStatus,
  InvalidArgumentError,
  InvalidCredentialsError,
  InvalidNameError,
  UpstreamAbortedError,
  type UpstreamError,
  UpstreamNetworkError,
  UpstreamProtocolError,
  UpstreamTimeoutError,
} from "../src/upstream/errors.ts";

const name = new InvalidNameError("namespace", "a slug");
const argument = new InvalidArgumentError("perPage", "an integer from 1 to 100");

// Every upstream code, with the code and fixed message a client sees for it.
const rows: [string, UpstreamError, string, string, boolean][] = [
  ["INVALID_NAME", name, "BAD_USER_INPUT", name.message, false],
  ["INVALID_ARGUMENT", argument, "BAD_USER_INPUT", argument.message, false],
  [
    "INVALID_CREDENTIALS",
    new InvalidCredentialsError("token"),
    "UNAUTHENTICATED",
    "The AI Search credentials given are malformed.",
    false,
  ],
  [
    "MISSING_CREDENTIALS",
    new InvalidCredentialsError("missing"),
    "UPSTREAM_AUTH_FAILED",
    "The gateway has no AI Search credentials.",
    false,
  ],
  [
    "UPSTREAM_ABORTED",
    new UpstreamAbortedError(),
    "REQUEST_ABORTED",
    "The request was cancelled.",
    false,
  ],
  [
    "UPSTREAM_TIMEOUT",
    new UpstreamTimeoutError("headers", 10),
    "UPSTREAM_TIMEOUT",
    "AI Search did not answer in time.",
    true,
  ],
  [
    "UPSTREAM_REQUEST_TIMEOUT",
    errorFromStatus(408),
    "UPSTREAM_TIMEOUT",
    "AI Search did not answer in time.",
    true,
  ],
  [
    "UPSTREAM_NETWORK_ERROR",
    new UpstreamNetworkError("ECONNRESET", false),
    "UPSTREAM_UNAVAILABLE",
    "AI Search is unavailable right now.",
    true,
  ],
  [
    "UPSTREAM_SERVER_ERROR",
    errorFromStatus(503),
    "UPSTREAM_UNAVAILABLE",
    "AI Search is unavailable right now.",
    true,
  ],
  [
    "UPSTREAM_CIRCUIT_OPEN",
    new UpstreamCircuitOpenError(),
    "UPSTREAM_UNAVAILABLE",
    "AI Search is unavailable right now.",
    true,
  ],
  [
    "UPSTREAM_RATE_LIMITED",
    errorFromStatus(429),
    "RATE_LIMITED",
    "AI Search is rate limiting requests; retry later.",
    true,
  ],
  [
    "UPSTREAM_NOT_FOUND",
    errorFromStatus(404),
    "NOT_FOUND",
    "AI Search has no such namespace or instance.",
    false,
  ],
  [
    "UPSTREAM_UNAUTHENTICATED",
    errorFromStatus(401),
    "UPSTREAM_AUTH_FAILED",
    "AI Search refused the gateway's credentials.",
    false,
  ],
  [
    "UPSTREAM_FORBIDDEN",
    errorFromStatus(403),
    "UPSTREAM_AUTH_FAILED",
    "AI Search refused the gateway's credentials.",
    false,
  ],
  [
    "UPSTREAM_BAD_REQUEST",
    errorFromStatus(400),
    "BAD_USER_INPUT",
    "AI Search rejected the request as invalid.",
    false,
  ],
  [
    "UPSTREAM_PROTOCOL_ERROR",
    new UpstreamProtocolError("malformed-json"),
    "UPSTREAM_BAD_RESPONSE",
    "AI Search sent a response the gateway cannot use.",
    false,
  ],
  [
    "UPSTREAM_REDIRECT",
    errorFromStatus(302),
    "UPSTREAM_BAD_RESPONSE",
    "AI Search sent a response the gateway cannot use.",
    false,
  ],
  [
    "UPSTREAM_CONFLICT",
    errorFromStatus(409),
    "UPSTREAM_ERROR",
    "AI Search failed to answer.",
    false,
  ],
  [
    "UPSTREAM_PAYLOAD_TOO_LARGE",
    errorFromStatus(413),
    "UPSTREAM_ERROR",
    "AI Search failed to answer.",
    false,
  ],
  [
    "UPSTREAM_API_ERROR",
    errorFromStatus(200),
    "UPSTREAM_ERROR",
    "AI Search failed to answer.",
    false,
  ],
  [
    "UPSTREAM_HTTP_ERROR",
    errorFromStatus(418),
    "UPSTREAM_ERROR",
    "AI Search failed to answer.",
    false,
  ],
];

describe("describeError", () => {
  it.each(rows)("%s → %s", (upstreamCode, error, code, message, retryable) => {
    expect(error.code).toBe(upstreamCode);
    expect(describeError(error)).toEqual({ code, message, retryable });
  });

  it("passes the upstream's Retry-After on for rate limits only", () => {
    const limited = errorFromStatus(429, { retryAfterMs: 1500 });
    expect(describeError(limited)).toMatchObject({ code: "RATE_LIMITED", retryAfterMs: 1500 });
    const unavailable = errorFromStatus(503, { retryAfterMs: 1500 });
    expect(describeError(unavailable)).not.toHaveProperty("retryAfterMs");
  });

  it("keeps coded GraphQL errors and hides anything else", () => {
    expect(describeError(badUserInput("`messages` must not be empty"))).toEqual({
      code: "BAD_USER_INPUT",
      message: "`messages` must not be empty",
      retryable: false,
    });
    expect(describeError(new GraphQLError("at /srv/app.ts:12"))).toEqual({
      code: "INTERNAL_SERVER_ERROR",
      message: "Unexpected error.",
      retryable: false,
    });
    expect(describeError(new TypeError("x is undefined"))).toEqual({
      code: "INTERNAL_SERVER_ERROR",
      message: "Unexpected error.",
      retryable: false,
    });
  });
});
