/**
 * One rule for every lookup by key, and ids as client input: a well-formed key that matches
 * nothing is `null` with no error (as Relay's `node`); a malformed key is BAD_USER_INPUT naming
 * the argument, before any upstream call; an action on a namespace that does not exist is
 * NOT_FOUND saying which. Through the gateway's whole pipeline, in process, against the real
 * local AI Search.
 */
import { encodeGlobalID } from "@pothos/plugin-relay";
import { describe, expect, it } from "vitest";
import { aiSearchRequests } from "../helpers/gateway.ts";
import { useInProcessGateway } from "../helpers/in-process.ts";

const gateway = useInProcessGateway();

const instanceId = (local: string) => encodeGlobalID("Instance", local);
const upstreamCalls = () => aiSearchRequests(gateway.local);

describe("lookups by key", () => {
  it.each([
    ["Query.namespace", `{ namespace(name: "no-such-namespace") { name } }`, "namespace"],
    [
      "Query.instance",
      `{ instance(namespace: "default", id: "no-such-instance") { id } }`,
      "instance",
    ],
    [
      "Query.instance in an unknown namespace",
      `{ instance(namespace: "no-such-namespace", id: "gateway-docs") { id } }`,
      "instance",
    ],
    [
      "Namespace.instance",
      `{ namespace(name: "default") { instance(id: "no-such-instance") { id } } }`,
      "namespace.instance",
    ],
    [
      "node, an instance",
      `{ node(id: "${instanceId("default/no-such-instance")}") { id } }`,
      "node",
    ],
    [
      "node, a namespace",
      `{ node(id: "${encodeGlobalID("Namespace", "no-such-namespace")}") { id } }`,
      "node",
    ],
    [
      "node, a type of another subgraph",
      `{ node(id: "${encodeGlobalID("Team", "x")}") { id } }`,
      "node",
    ],
    [
      "node, a type that is no node",
      `{ node(id: "${encodeGlobalID("Chunk", "x")}") { id } }`,
      "node",
    ],
  ])("%s: a key that matches nothing is null, with no error", async (_where, query, path) => {
    const { body } = await gateway.graphql(query);
    expect(body.errors).toBeUndefined();
    const value = path
      .split(".")
      .reduce<unknown>((v, key) => (v as Record<string, unknown>)?.[key], body.data);
    expect(value).toBeNull();
  });

  it("nodes: null for each id that names nothing, in order", async () => {
    const { body } = await gateway.graphql<{ nodes: unknown[] }>(
      `query ($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Instance { instanceId } ... on Namespace { name } } }`,
      {
        ids: [
          encodeGlobalID("Namespace", "no-such-namespace"),
          instanceId("default/gateway-docs"),
          encodeGlobalID("Team", "x"),
          encodeGlobalID("Namespace", "handbook"),
        ],
      },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.nodes).toEqual([
      null,
      { __typename: "Instance", instanceId: "gateway-docs" },
      null,
      { __typename: "Namespace", name: "handbook" },
    ]);
  });
});

describe("malformed ids", () => {
  it.each([
    ["not base64 at all", "garbage!", "`id` must be a global id"],
    [
      "base64 without a type",
      Buffer.from("no type here").toString("base64"),
      "`id` must be a global id",
    ],
    ["too long to be one", "QQ".repeat(400), "`id` must be a global id"],
    [
      "an instance id without a namespace",
      instanceId("gateway-docs"),
      "`id` is not a well-formed Instance id",
    ],
    [
      "an instance id that is no slug",
      instanceId("default/../x"),
      "`id` is not a well-formed Instance id",
    ],
    [
      "a namespace name that is no slug",
      encodeGlobalID("Namespace", "A B"),
      "`id` is not a well-formed Namespace id",
    ],
  ])(
    "node(id:) with %s is BAD_USER_INPUT naming `id`, with no upstream call",
    async (_what, id, message) => {
      const { body } = await gateway.graphql(`query ($id: ID!) { node(id: $id) { id } }`, { id });
      expect(body.data).toEqual({ node: null });
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: expect.stringContaining(message),
          path: ["node"],
          extensions: { code: "BAD_USER_INPUT", field: "id" },
        }),
      ]);
      expect(upstreamCalls()).toEqual([]);
    },
  );

  it("nodes(ids:) names the malformed entry", async () => {
    const { body } = await gateway.graphql(`query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`, {
      ids: [encodeGlobalID("Namespace", "default"), "garbage!"],
    });
    expect(body.errors).toEqual([
      expect.objectContaining({
        message: "`ids[1]` must be a global id, as returned in `id` fields",
        extensions: { code: "BAD_USER_INPUT", field: "ids[1]" },
      }),
    ]);
    expect(upstreamCalls()).toEqual([]);
  });

  it("nodes(ids:) takes at most 100 ids", async () => {
    const ids = Array.from({ length: 101 }, (_, i) => encodeGlobalID("Namespace", `n${i}`));
    const { body } = await gateway.graphql(`query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`, {
      ids,
    });
    expect(body.errors?.[0]?.extensions).toEqual({ code: "BAD_USER_INPUT", field: "ids" });
    expect(upstreamCalls()).toEqual([]);
  });
});

describe("_entities", () => {
  const ENTITIES = /* GraphQL */ `
    query ($representations: [_Any!]!) {
      _entities(representations: $representations) {
        __typename
        ... on Instance { instanceId namespace { name } }
        ... on Namespace { name }
      }
    }
  `;

  it("nulls only a bad representation, with its error at its own path", async () => {
    const representations = [
      { __typename: "Instance", id: instanceId("default/gateway-docs") },
      { __typename: "Instance", id: "garbage!" },
      { __typename: "Namespace" },
      { __typename: "Instance", instanceId: "frontend-recipes", namespace: { name: "default" } },
      { __typename: "NoSuchType", id: "x" },
      { __typename: "Instance", instanceId: "gateway-docs" },
      { __typename: "Namespace", name: "handbook" },
      { __typename: "Instance", id: instanceId("default/no-such-instance") },
      { __typename: "Namespace", name: "A B" },
    ];
    const { body } = await gateway.graphql<{ _entities: unknown[] }>(ENTITIES, { representations });
    expect(body.data!._entities).toEqual([
      { __typename: "Instance", instanceId: "gateway-docs", namespace: { name: "default" } },
      null,
      null,
      { __typename: "Instance", instanceId: "frontend-recipes", namespace: { name: "default" } },
      null,
      null,
      { __typename: "Namespace", name: "handbook" },
      null,
      null,
    ]);
    const errors = (body.errors ?? []).map((e) => ({
      path: e.path,
      code: e.extensions?.code,
      message: e.message,
    }));
    expect(errors).toEqual([
      {
        path: ["_entities", 1],
        code: "BAD_USER_INPUT",
        message:
          "`representations`: an Instance's `id` must be a global id, as returned in `id` fields",
      },
      {
        path: ["_entities", 2],
        code: "BAD_USER_INPUT",
        message: "`representations`: a Namespace representation needs `name`, a slug, or `id`",
      },
      {
        path: ["_entities", 4],
        code: "BAD_USER_INPUT",
        message: "`representations`: `__typename` must name an entity type of this subgraph",
      },
      {
        path: ["_entities", 5],
        code: "BAD_USER_INPUT",
        message:
          "`representations`: an Instance representation needs `id`, or `instanceId` and `namespace { name }`",
      },
      {
        path: ["_entities", 8],
        code: "BAD_USER_INPUT",
        message: "`representations`: a Namespace representation needs `name`, a slug, or `id`",
      },
    ]);
  });

  it("resolves instances by either key with one listing of their namespace", async () => {
    const { body } = await gateway.graphql<{ _entities: unknown[] }>(ENTITIES, {
      representations: [
        {
          __typename: "Instance",
          instanceId: "ai-search-concepts",
          namespace: { name: "default" },
        },
        { __typename: "Instance", id: instanceId("default/gateway-docs") },
        { __typename: "Instance", instanceId: "no-such-instance", namespace: { name: "default" } },
        { __typename: "Instance", instanceId: "engineering", namespace: { name: "handbook" } },
      ],
    });
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities).toEqual([
      { __typename: "Instance", instanceId: "ai-search-concepts", namespace: { name: "default" } },
      { __typename: "Instance", instanceId: "gateway-docs", namespace: { name: "default" } },
      null,
      { __typename: "Instance", instanceId: "engineering", namespace: { name: "handbook" } },
    ]);
    const listings = upstreamCalls().filter((r) => /\/instances(\?|$)/.test(r.path));
    expect(listings.map((r) => r.path.replace(/.*\/namespaces\//, ""))).toEqual([
      expect.stringMatching(/^default\/instances/),
      expect.stringMatching(/^handbook\/instances/),
    ]);
  });
});

describe("actions on a namespace that does not exist", () => {
  const input = { namespace: "no-such-namespace", instanceIds: ["gateway-docs"] };
  const NAMED = 'AI Search has no namespace "no-such-namespace".';

  it.each([
    [
      "search",
      `query ($input: SearchInput!) { search(input: $input) { searchQuery } }`,
      { input: { ...input, query: "streams" } },
    ],
    [
      "chatCompletion",
      `mutation ($input: ChatCompletionInput!) { chatCompletion(input: $input) { content } }`,
      { input: { ...input, messages: [{ role: "USER", content: "hello" }] } },
    ],
  ])("%s: NOT_FOUND naming the namespace", async (field, query, variables) => {
    const { body } = await gateway.graphql(query, variables);
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([
      expect.objectContaining({ message: NAMED, path: [field], extensions: { code: "NOT_FOUND" } }),
    ]);
  });

  it("chatCompletionStream: NOT_FOUND naming the namespace, over SSE", async () => {
    const response = await gateway.yoga.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({
        query: `subscription ($input: ChatCompletionInput!) { chatCompletionStream(input: $input) { __typename } }`,
        variables: { input: { ...input, messages: [{ role: "USER", content: "hello" }] } },
      }),
    });
    const text = await response.text();
    const next = text.split("\n").find((line) => line.startsWith("data: {"));
    expect(JSON.parse(next!.slice("data: ".length))).toMatchObject({
      errors: [{ message: NAMED, extensions: { code: "NOT_FOUND" } }],
    });
  });

  it("an unknown instance in a known namespace is data: a per-instance error", async () => {
    const { body } = await gateway.graphql<{ search: { errors: { instanceId: string }[] } }>(
      `query ($input: SearchInput!) { search(input: $input) { errors { instanceId message } } }`,
      { input: { instanceIds: ["no-such-instance", "gateway-docs"], query: "streams" } },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.search.errors).toEqual([
      { instanceId: "no-such-instance", message: expect.stringContaining("no-such-instance") },
    ]);
  });
});

describe("malformed names in mutation inputs", () => {
  it.each([
    ["createNamespace", `createNamespace(input: { name: "A B" }) { userErrors { code } }`, "name"],
    [
      "updateNamespace",
      `updateNamespace(input: { name: "A B", description: "x" }) { userErrors { code } }`,
      "name",
    ],
    ["deleteNamespace", `deleteNamespace(input: { name: "A B" }) { name }`, "name"],
    [
      "createInstance",
      `createInstance(input: { namespace: "A B", instanceId: "docs" }) { userErrors { code } }`,
      "namespace",
    ],
    [
      "moveInstance",
      `moveInstance(input: { instanceId: "gateway-docs", toNamespace: "A B" }) { userErrors { code } }`,
      "toNamespace",
    ],
  ])(
    "%s: BAD_USER_INPUT naming the input field, with no upstream call",
    async (field, selection, named) => {
      const { body } = await gateway.graphql(`mutation { ${selection} }`);
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: expect.stringContaining(`\`${named}\` must be`),
          path: [field],
          extensions: { code: "BAD_USER_INPUT", field: named },
        }),
      ]);
      expect(upstreamCalls()).toEqual([]);
    },
  );
});
