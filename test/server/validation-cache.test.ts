/**
 * useValidationCache on a small schema of its own: a document is validated once per rule set,
 * and a result is never reused for other rules. The gateway's own
 * refusals through it (introspection, the operation limits) are in introspection.test.ts and
 * operation-limits.test.ts.
 */
import { GraphQLError, type ValidationContext, type ValidationRule } from "graphql";
import { createSchema, createYoga, type Plugin } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import { useValidationCache } from "../../src/server/plugins/useValidationCache.ts";

const schema = createSchema({
  typeDefs: "type Query { hello: String! secret: String! }",
  resolvers: { Query: { hello: () => "hi", secret: () => "s3cret" } },
});

/** A rule that counts each validation it takes part in and refuses the `secret` field. */
function noSecrets() {
  const runs = { count: 0 };
  const rule: ValidationRule = (context: ValidationContext) => {
    runs.count++;
    return {
      Field(node) {
        if (node.name.value === "secret") context.reportError(new GraphQLError("no secrets"));
      },
    };
  };
  return { rule, runs };
}

/** Adds `rule` to every operation, or only to requests with an `x-strict` header. */
const adding = (rule: ValidationRule, onlyStrict = false): Plugin => ({
  onValidate({ addValidationRule, context }) {
    const { request } = context as { request: Request };
    if (!onlyStrict || request.headers.has("x-strict")) addValidationRule(rule);
  },
});

const yogaWith = (plugins: Plugin[]) =>
  createYoga({
    schema,
    logging: false,
    parserAndValidationCache: { validationCache: false },
    plugins: [...plugins, useValidationCache()],
  });

const query = async (
  yoga: ReturnType<typeof yogaWith>,
  source: string,
  headers: Record<string, string> = {},
) => {
  const res = await yoga.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      // So a validation failure answers 400, as Yoga does for clients of the GraphQL-over-HTTP spec.
      accept: "application/graphql-response+json",
      ...headers,
    },
    body: JSON.stringify({ query: source }),
  });
  return { status: res.status, body: await res.json() };
};

describe("useValidationCache", () => {
  it("validates a document once and answers the next operation with the same result", async () => {
    const { rule, runs } = noSecrets();
    const yoga = yogaWith([adding(rule)]);
    expect(await query(yoga, "{ hello }")).toEqual({
      status: 200,
      body: { data: { hello: "hi" } },
    });
    expect(await query(yoga, "{ hello }")).toEqual({
      status: 200,
      body: { data: { hello: "hi" } },
    });
    expect(runs.count).toBe(1);
  });

  it("refuses an invalid document every time from one validation", async () => {
    const { rule, runs } = noSecrets();
    const yoga = yogaWith([adding(rule)]);
    for (let i = 0; i < 2; i++) {
      const { status, body } = await query(yoga, "{ secret }");
      expect(status).toBe(400);
      expect(body.data).toBeUndefined();
      expect(body.errors).toEqual([expect.objectContaining({ message: "no secrets" })]);
    }
    expect(runs.count).toBe(1);
  });

  it("does not reuse a result validated without a rule that some operations add", async () => {
    const { rule, runs } = noSecrets();
    const yoga = yogaWith([adding(rule, true)]);
    expect(await query(yoga, "{ secret }")).toEqual({
      status: 200,
      body: { data: { secret: "s3cret" } },
    });
    const strict = await query(yoga, "{ secret }", { "x-strict": "1" });
    expect(strict.status).toBe(400);
    expect(strict.body.errors).toEqual([expect.objectContaining({ message: "no secrets" })]);
    // And each rule set keeps its own result.
    expect((await query(yoga, "{ secret }")).body).toEqual({ data: { secret: "s3cret" } });
    expect((await query(yoga, "{ secret }", { "x-strict": "1" })).status).toBe(400);
    expect(runs.count).toBe(1);
  });
});
