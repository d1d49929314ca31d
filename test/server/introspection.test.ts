import { getIntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcessGateway, startInProcessGateway } from "../helpers/in-process.ts";

// What introspection answers is the plugins' decision, so the pipeline runs in process; the
// graphql-ws refusal is checked over a real socket in graphql-ws-protocol.test.ts.

// Production refuses to start without client authentication unless it is switched off.
const PRODUCTION = { NODE_ENV: "production", AUTH_REQUIRED: "false" };

const ASK_WITH_ROLE = `mutation Ask($role: ChatRole!) {
  chatCompletion(input: { instanceIds: ["gateway-docs"], messages: [{ role: $role, content: "hi" }] }) { id }
}`;

describe("in production", () => {
  let harness: InProcessGateway;
  beforeAll(async () => {
    harness = await startInProcessGateway(PRODUCTION);
  });
  afterAll(() => harness?.close());

  it.each([
    ["__schema", "{ __schema { queryType { name } } }"],
    ["__type", `{ __type(name: "Query") { name } }`],
    ["the full introspection query", getIntrospectionQuery()],
  ])("refuses %s, again when its validation is remembered", async (_, query) => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const { body } = await harness.graphql(query);
      expect(body.data).toBeUndefined();
      expect(body.errors?.length).toBeGreaterThan(0);
      for (const error of body.errors!) {
        expect(error.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
        expect(error.message).toMatch(/introspection has been disabled/);
      }
    }
  });

  it("still answers __typename and Federation's _service", async () => {
    const { body } = await harness.graphql<{ __typename: string; _service: { sdl: string } }>(
      "{ __typename _service { sdl } }",
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.__typename).toBe("Query");
    expect(body.data!._service.sdl).toContain("type Query");
  });

  it("hides field, argument and enum suggestions", async () => {
    const documents = [
      "{ namespacez { totalCount } }",
      `{ namespace(nam: "default") { name } }`,
      `mutation { chatCompletion(input: { instanceIds: ["x"], messages: [{ role: USR, content: "hi" }] }) { id } }`,
    ];
    for (const query of documents) {
      const { body } = await harness.graphql(query);
      expect(body.errors?.length).toBeGreaterThan(0);
      for (const error of body.errors!) expect(error.message).not.toMatch(/did you mean/i);
    }
    // Variable coercion reports enum suggestions while executing, not validating.
    const before = harness.local.requests.length;
    const { body } = await harness.graphql(ASK_WITH_ROLE, { role: "USR" });
    expect(body.errors?.[0]?.message).toMatch(/USR/);
    expect(body.errors?.[0]?.message).not.toMatch(/did you mean/i);
    expect(harness.local.requests.length).toBe(before);
  });
});

describe("in production with INTROSPECTION=true", () => {
  let harness: InProcessGateway;
  beforeAll(async () => {
    harness = await startInProcessGateway({ ...PRODUCTION, INTROSPECTION: "true" });
  });
  afterAll(() => harness?.close());

  it("answers introspection but still hides suggestions", async () => {
    const { body } = await harness.graphql(getIntrospectionQuery());
    expect(body.errors).toBeUndefined();
    expect(body.data).toHaveProperty("__schema.queryType.name", "Query");
    const typo = await harness.graphql("{ namespacez { totalCount } }");
    expect(typo.body.errors?.[0]?.message).not.toMatch(/did you mean/i);
  });
});

describe("in development", () => {
  let harness: InProcessGateway;
  beforeAll(async () => {
    harness = await startInProcessGateway({ NODE_ENV: "development" });
  });
  afterAll(() => harness?.close());

  it("answers introspection and suggests fields", async () => {
    const { body } = await harness.graphql(getIntrospectionQuery());
    expect(body.errors).toBeUndefined();
    const typo = await harness.graphql("{ namespacez { totalCount } }");
    expect(typo.body.errors?.[0]?.message).toMatch(/Did you mean "namespace"/);
  });
});
