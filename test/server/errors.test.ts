import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { badUserInput } from "../../src/graphql-errors.ts";
import { maskError } from "../../src/server/errors.ts";
import { createGatewayYoga } from "../../src/server/yoga.ts";
import { AiSearchClient } from "../../src/upstream/client.ts";
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

describe("a malformed request body", () => {
  const SECRET = "body-secret-42";
  const bodies: [string, string][] = [
    ["truncated JSON", `{"query": "{ __typename }", "variables": {"token": "${SECRET}"`],
    ["not JSON at all", `query=${SECRET}`],
    [
      "a parameter GraphQL over HTTP does not define",
      `{"query": "{ __typename }", "${SECRET}": 1}`,
    ],
  ];

  it.each(bodies)(
    "%s: 400 BAD_REQUEST with a fixed message and nothing of the body",
    async (_label, body) => {
      const config = loadConfig({
        NODE_ENV: "production",
        CLOUDFLARE_ACCOUNT_ID: "acct",
        CLOUDFLARE_API_TOKEN: "operator-token-0123456789",
        AUTH_REQUIRED: "false",
      });
      // No call reaches it: the body is refused before any operation runs.
      const upstream = new AiSearchClient({ accountId: "acct", baseUrl: "http://127.0.0.1:9" });
      const { yoga } = createGatewayYoga(config, upstream);
      try {
        for (const accept of ["application/json", "application/graphql-response+json"]) {
          const response = await yoga.fetch("http://gateway.test/graphql", {
            method: "POST",
            headers: { "content-type": "application/json", accept },
            body,
          });
          const text = await response.text();
          expect(response.status, accept).toBe(400);
          const { errors } = JSON.parse(text) as { errors: GraphQLError[] };
          expect(errors).toHaveLength(1);
          expect(errors[0]?.extensions).toEqual({ code: "BAD_REQUEST" });
          expect(errors[0]?.message).not.toContain(SECRET);
          expect(text).not.toContain("originalError");
          expect(text).not.toContain(SECRET);
          expect(text).not.toMatch(/position \d|at .*\.js|SyntaxError/);
        }
      } finally {
        await upstream.close();
      }
    },
  );
});
