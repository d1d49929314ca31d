/**
 * Property-based: generated names and documents thrown at a real gateway over real sockets.
 * Whatever arrives, the gateway answers below 500, every error is masked and coded, and no
 * request leaves for the upstream outside its API prefix or with an unchecked name in its path.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway, TEST_TOKEN } from "../helpers/gateway.ts";

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGateway({}, { RATE_LIMIT_PER_MINUTE: "1000000" });
});
afterAll(() => harness.close());

const PREFIX = "/client/v4/accounts/test-account/ai-search/";
const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Path segments that are ours, not names: the API's own words. */
const API_WORDS = new Set(["namespaces", "instances", "stats", "search", "chat", "completions"]);

/** Names a hostile or careless caller might send. */
const name = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "..",
    "../..",
    "default/../x",
    "%2e%2e",
    "a%2fb",
    "a?b=1",
    "a#b",
    "a\nb",
    "a\r\nHost: x",
    "\u0000",
    "ＤＥＦＡＵＬＴ",
    "default ",
    "x".repeat(65),
    "default",
    "gateway-docs",
  ),
);

function expectSafe(status: number, body: unknown) {
  expect(status).toBeLessThan(500);
  const text = JSON.stringify(body);
  expect(text).not.toContain(TEST_TOKEN);
  expect(text).not.toMatch(/\bat .+:\d+:\d+|node_modules|\.ts:\d+/);
  const errors = (body as { errors?: { extensions?: { code?: unknown } }[] }).errors ?? [];
  for (const error of errors) expect(typeof error.extensions?.code).toBe("string");
}

function expectUpstreamPathsSafe() {
  for (const request of harness.local.requests) {
    expect(request.path.startsWith(PREFIX)).toBe(true);
    for (const segment of request.path.slice(PREFIX.length).split("/")) {
      expect(API_WORDS.has(segment) || SLUG.test(segment)).toBe(true);
    }
  }
}

async function post(body: unknown) {
  const response = await fetch(harness.gateway.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { raw: text };
  }
  return { status: response.status, body: parsed };
}

describe("generated input", () => {
  it("names: lookups, searches and completions stay safe", async () => {
    harness.local.resetRequests();
    await fc.assert(
      fc.asyncProperty(name, name, async (namespace, instance) => {
        const lookup = await post({
          query: `query($ns: String!, $id: String!) {
            namespace(name: $ns) { name instance(id: $id) { instanceId } }
            instance(namespace: $ns, id: $id) { instanceId stats { completed } }
          }`,
          variables: { ns: namespace, id: instance },
        });
        expectSafe(lookup.status, lookup.body);
        const ask = await post({
          query: `mutation($input: ChatCompletionInput!) { chatCompletion(input: $input) { content chunks { instance { instanceId } } } }`,
          variables: {
            input: {
              namespace,
              instanceIds: [instance],
              messages: [{ role: "USER", content: "what is a chunk?" }],
            },
          },
        });
        expectSafe(ask.status, ask.body);
      }),
      { numRuns: 60 },
    );
    expectUpstreamPathsSafe();
  });

  it("documents: arbitrary text, variables and operation names stay safe", async () => {
    const fieldNames = fc.constantFrom(
      "namespaces",
      "namespace",
      "instance",
      "search",
      "node",
      "__schema",
      "__typename",
      "chatCompletion",
      "nope",
    );
    const selection: fc.Arbitrary<string> = fc.letrec<{ sel: string }>((tie) => ({
      sel: fc.oneof(
        { depthSize: "small" },
        fieldNames,
        fc
          .tuple(fieldNames, fc.array(tie("sel"), { maxLength: 3 }))
          .map(([field, inner]) => `${field} { ${inner.join(" ") || "__typename"} }`),
      ),
    })).sel;
    const document = fc.oneof(
      fc.string({ maxLength: 200 }),
      selection.map((s) => `{ ${s} }`),
      fc
        .tuple(fc.constantFrom("query", "mutation", "subscription"), selection)
        .map(([kind, s]) => `${kind} { ${s} }`),
    );
    await fc.assert(
      fc.asyncProperty(
        document,
        fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue()), { nil: undefined }),
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        async (query, variables, operationName) => {
          const { status, body } = await post({ query, variables, operationName });
          expectSafe(status, body);
        },
      ),
      { numRuns: 150 },
    );
    expectUpstreamPathsSafe();
  });

  it("bodies: non-GraphQL payloads are refused cleanly", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (payload) => {
        const { status, body } = await post(payload);
        expect(status).toBeGreaterThanOrEqual(200);
        expectSafe(status, body);
      }),
      { numRuns: 60 },
    );
  });
});
