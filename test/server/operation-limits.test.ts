import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AskDocument,
  AskStreamDocument,
  InstanceDocument,
  NamespacesDocument,
  SearchDocument,
} from "../../operations/generated/graphql.ts";
import { type InProcessGateway, startInProcessGateway } from "../helpers/in-process.ts";

// The limits are the plugins' decisions, so the pipeline runs in process; the graphql-ws
// refusal is checked over a real socket in graphql-ws-protocol.test.ts.
let harness: InProcessGateway;
/** The same gateway with the token limit out of the way, to reach the other limits with bulk. */
let roomy: InProcessGateway;

beforeAll(async () => {
  [harness, roomy] = await Promise.all([
    startInProcessGateway(),
    startInProcessGateway({ LIMIT_TOKENS: "1000000", MAX_BODY_BYTES: "4194304" }),
  ]);
});
afterAll(() => Promise.all([harness?.close(), roomy?.close()]));

const GRAPHQL_URL = "http://gateway.test/graphql";

const repeat = (times: number, make: (i: number) => string) =>
  Array.from({ length: times }, (_, i) => make(i + 1)).join(" ");

/** Seven levels of fields from the root: one more than the default depth limit of 6. */
const DEPTH_7 = `{ namespaces { edges { node { instances { nodes { namespace { name } } } } } } }`;
const DEPTH_6 = `{ namespaces { edges { node { instances { nodes { id } } } } } }`;
// `__typename` aliases are free, and `@skip(if: false)` changes nothing, so only the count matters.
const directives = (n: number) => `{ ${repeat(n, () => "__typename @skip(if: false)")} }`;
const aliases = (n: number) =>
  `{ namespace(name: "default") { ${repeat(n, (i) => `a${i}: name`)} } }`;
// `{`, n fields, `}`: n + 2 tokens.
const tokens = (n: number) => `{ ${repeat(n - 2, () => "__typename")} }`;
// Armor's cost: (object 2 + 1.5 × (1 + 1 scalar)) × first 1000 = 5000, plus 1 per extra root scalar.
const cost = (extra: number) =>
  `{ ${repeat(extra, () => "__typename")} namespaces(first: 1000) { __typename totalCount } }`;

const limits = [
  { limit: "depth", max: 6, over: DEPTH_7, at: DEPTH_6 },
  { limit: "aliases", max: 15, over: aliases(16), at: aliases(15) },
  { limit: "directives", max: 50, over: directives(51), at: directives(50) },
  { limit: "tokens", max: 1000, over: tokens(1001), at: tokens(1000) },
  { limit: "cost", max: 5000, over: cost(1), at: cost(0) },
];

/** Posts a document and checks it was refused for `limit` without one upstream request. */
async function expectRefused(target: InProcessGateway, query: string, limit: string) {
  const before = target.local.requests.length;
  const { status, body } = await target.graphql(query);
  expect(status).toBe(400);
  expect(body.data).toBeUndefined();
  // Several limits may trip at once; every error is a refusal and `limit` is among them.
  expect(body.errors!.map((e) => e.extensions?.code)).toEqual(
    body.errors!.map(() => "OPERATION_LIMIT_EXCEEDED"),
  );
  expect(body.errors!.map((e) => e.extensions?.limit)).toContain(limit);
  for (const error of body.errors!) expect(error.extensions).not.toHaveProperty("http");
  expect(target.local.requests.length).toBe(before);
}

describe("operation limits at their defaults", () => {
  it.each(limits)("refuses $limit over $max by one", async ({ limit, max, over }) => {
    const before = harness.local.requests.length;
    const { status, body } = await harness.graphql(over);
    expect(status).toBe(400);
    expect(body.errors).toEqual([
      {
        message: expect.stringContaining(`limit of ${max}`),
        extensions: { code: "OPERATION_LIMIT_EXCEEDED", limit, max },
      },
    ]);
    expect(harness.local.requests.length).toBe(before);
  });

  it.each(limits)("accepts $limit at exactly $max", async ({ at }) => {
    const { body } = await harness.graphql(at);
    for (const error of body.errors ?? []) {
      expect(error.extensions?.code).not.toBe("OPERATION_LIMIT_EXCEEDED");
    }
  });

  it("refuses with 400 whatever the client accepts, and over GET", async () => {
    const response = await harness.yoga.fetch(GRAPHQL_URL, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json",
      },
      body: JSON.stringify({ query: tokens(1001) }),
    });
    expect(response.status).toBe(400);
    const get = await harness.yoga.fetch(`${GRAPHQL_URL}?query=${encodeURIComponent(DEPTH_7)}`, {
      headers: { accept: "application/json" },
    });
    expect(get.status).toBe(400);
    expect(await get.json()).toMatchObject({
      errors: [{ extensions: { code: "OPERATION_LIMIT_EXCEEDED", limit: "depth" } }],
    });
  });

  it("lets every example operation through", async () => {
    const input = {
      instanceIds: ["gateway-docs"],
      messages: [{ role: "USER" as const, content: "How are answers streamed?" }],
    };
    const results = [
      await harness.graphql(NamespacesDocument, { first: 2, instancesFirst: 2 }),
      await harness.graphql(InstanceDocument, { namespace: "default", id: "gateway-docs" }),
      await harness.graphql(SearchDocument, {
        input: { instanceIds: ["gateway-docs"], query: "x" },
      }),
      await harness.graphql(AskDocument, { input }),
    ];
    for (const { status, body } of results) {
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
    }
    // The subscription's first event is enough here; the streaming tests run it to the end.
    const stream = await harness.yoga.fetch(GRAPHQL_URL, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: print(AskStreamDocument), variables: { input } }),
    });
    // Yoga's keep-alive comment may come first: read up to the first event's data.
    const reader = stream.body!.getReader();
    let first = "";
    while (!/data: .*\n/.test(first)) {
      const { value, done } = await reader.read();
      if (done) break;
      first += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const event = JSON.parse(/data: (.*)\n/.exec(first)![1]!);
    expect(event.errors).toBeUndefined();
    expect(event.data.chatCompletionStream.__typename).toBe("ChatCompletionChunksEvent");
  });
});

describe("limits hidden in fragments", () => {
  it("counts depth through named and inline fragments", async () => {
    await expectRefused(
      harness,
      `{ namespaces { ...Edges } }
       fragment Edges on QueryNamespacesConnection { edges { node { ... on Namespace { ...Deep } } } }
       fragment Deep on Namespace { instances { nodes { namespace { name } } } }`,
      "depth",
    );
  });

  it("counts aliases each time a fragment is spread", async () => {
    await expectRefused(
      harness,
      `{ namespace(name: "default") { ...Eight ... on Namespace { ...Eight } } }
       fragment Eight on Namespace { ${repeat(8, (i) => `a${i}: name`)} }`,
      "aliases",
    );
  });

  it("counts directives each time a fragment is spread", async () => {
    await expectRefused(
      harness,
      `{ ...Seventeen ...Seventeen ...Seventeen }
       fragment Seventeen on Query { ${repeat(17, () => "__typename @include(if: true)")} }`,
      "directives",
    );
  });

  it("counts cost inside fragments", async () => {
    await expectRefused(
      harness,
      `{ namespaces(first: 1000) { ...Cheap } } fragment Cheap on QueryNamespacesConnection { totalCount }`,
      "cost",
    );
  });
});

describe("fragment cycles", () => {
  it.each([
    [
      "two fragments spreading each other",
      `{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }`,
    ],
    [
      "a fragment reaching itself through fields",
      `{ namespace(name: "default") { ...Loop } } fragment Loop on Namespace { instances { nodes { namespace { ...Loop } } } }`,
    ],
    ["a fragment spreading itself", `{ ...Self } fragment Self on Query { __typename ...Self }`],
  ])("refuses %s without recursing", async (_, query) => {
    const before = harness.local.requests.length;
    const { body } = await harness.graphql(query);
    expect(body.data).toBeUndefined();
    expect(body.errors?.map((e) => e.extensions?.code)).toContain("GRAPHQL_VALIDATION_FAILED");
    expect(body.errors?.some((e) => /within itself/.test(e.message))).toBe(true);
    expect(harness.local.requests.length).toBe(before);
  });
});

describe("thousands of aliases of an expensive field", () => {
  const input = `{ instanceIds: ["gateway-docs"], messages: [{ role: USER, content: "hi" }] }`;

  it("stops 3000 chatCompletion aliases at the token limit", async () => {
    await expectRefused(
      harness,
      `mutation { ${repeat(3000, (i) => `a${i}: chatCompletion(input: ${input}) { id }`)} }`,
      "tokens",
    );
  });

  it("stops 3000 search aliases at the alias limit when tokens allow them", async () => {
    await expectRefused(
      roomy,
      `{ ${repeat(3000, (i) => `a${i}: search(input: { instanceIds: ["gateway-docs"], query: "q" }) { searchQuery }`)} }`,
      "aliases",
    );
  });

  it("stops 3000 chatCompletion aliases hidden in a fragment", async () => {
    await expectRefused(
      roomy,
      `mutation { ...Many } fragment Many on Mutation { ${repeat(3000, (i) => `a${i}: chatCompletion(input: ${input}) { id }`)} }`,
      "aliases",
    );
  });
});

describe("with lower limits from the environment", () => {
  let strict: InProcessGateway;
  beforeAll(async () => {
    strict = await startInProcessGateway({
      LIMIT_DEPTH: "2",
      LIMIT_ALIASES: "1",
      LIMIT_COST: "10",
    });
  });
  afterAll(() => strict?.close());

  it("applies the configured numbers", async () => {
    await expectRefused(
      strict,
      `{ namespace(name: "default") { instances { totalCount } } }`,
      "depth",
    );
    await expectRefused(
      strict,
      `{ a: namespace(name: "x") { name } b: namespace(name: "y") { name } }`,
      "aliases",
    );
    await expectRefused(strict, `{ namespaces(first: 5) { totalCount } }`, "cost");
  });
});
