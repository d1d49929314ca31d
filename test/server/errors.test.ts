import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { badUserInput } from "../../src/graphql-errors.ts";
import { maskError } from "../../src/server/errors.ts";
import { errorFromStatus, UpstreamNetworkError } from "../../src/upstream/errors.ts";

const atField = (original: Error | undefined, message = "wrapped") =>
  new GraphQLError(message, { path: ["chatCompletion"], originalError: original });

describe("maskError", () => {
  it("keeps graphql's own pre-execution errors readable and gives them a code", () => {
    const masked = maskError(new GraphQLError('Cannot query field "nope" on type "Query".'));
    expect(masked.message).toContain("nope");
    expect((masked as GraphQLError).extensions.code).toBe("BAD_USER_INPUT");
  });

  it("keeps our own coded errors as they are", () => {
    const masked = maskError(atField(badUserInput("`messages` must not be empty", "messages")));
    expect(masked.message).toBe("`messages` must not be empty");
    expect((masked as GraphQLError).extensions).toMatchObject({ code: "BAD_USER_INPUT" });
  });

  it("replaces an execution error that quotes upstream data", () => {
    const leak = new GraphQLError(
      "DateTime cannot represent an invalid date-time-string secret-42",
    );
    const masked = maskError(atField(leak, leak.message)) as GraphQLError;
    expect(masked.message).not.toContain("secret-42");
    expect(masked.extensions.code).toBe("UPSTREAM_BAD_RESPONSE");
    expect(masked.path).toEqual(["chatCompletion"]);
  });

  it("maps upstream failures to fixed messages without their details", () => {
    const http = errorFromStatus(503, { cloudflareErrors: [{ code: 7000, message: "token abc" }] });
    const masked = maskError(atField(http)) as GraphQLError;
    expect(masked.extensions.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(JSON.stringify(masked)).not.toContain("token abc");
    const network = maskError(
      atField(new UpstreamNetworkError("ECONNREFUSED", true)),
    ) as GraphQLError;
    expect(network.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", retryable: true });
  });

  it("hides anything unexpected behind INTERNAL_SERVER_ERROR", () => {
    const masked = maskError(atField(new Error("at /srv/app/src/secret.ts:12"))) as GraphQLError;
    expect(masked.message).toBe("Unexpected error.");
    expect(masked.extensions.code).toBe("INTERNAL_SERVER_ERROR");
  });
});
