/**
 * A real Hive Gateway (programmatic runtime) in front of the AI Search gateway and the catalog
 * subgraph, composed with The Guild's composition (test/federation/hive.ts); subscriptions reach
 * the AI Search subgraph over SSE here (hive-gateway-ws.test.ts: graphql-ws). Queries across
 * both subgraphs in both directions, Relay's `node` for both subgraphs' ids, and the
 * subscription suite.
 */
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { teamId } from "./catalog-subgraph.ts";
import { type Supergraph, startSupergraph, USER_HEADER } from "./hive.ts";
import { subscriptionSuite } from "./hive-subscriptions.ts";

let supergraph: Supergraph;
beforeAll(async () => {
  supergraph = await startSupergraph("sse");
}, 30_000);
afterAll(async () => {
  await supergraph?.close();
});

async function query<T>(source: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(supergraph.url, {
    method: "POST",
    headers: { "content-type": "application/json", [USER_HEADER]: "querying-user" },
    body: JSON.stringify({ query: source, variables }),
  });
  return (await response.json()) as {
    data?: T;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

describe("queries across both subgraphs", () => {
  it("from AI Search to the catalog: a namespace's owner, an instance's team", async () => {
    const { data, errors } = await query(/* GraphQL */ `
      {
        namespace(name: "default") {
          description
          owner { name }
          instances(first: 5) { nodes { instanceId team { slug } } }
        }
      }
    `);
    expect(errors).toBeUndefined();
    expect(data).toEqual({
      namespace: {
        description: expect.stringMatching(/\S/),
        owner: { name: "Search Platform" },
        instances: {
          nodes: expect.arrayContaining([
            { instanceId: "gateway-docs", team: { slug: "search-platform" } },
            { instanceId: "ai-search-concepts", team: null },
          ]),
        },
      },
    });
  });

  it("from the catalog to AI Search: a team's instances by their natural key", async () => {
    const { data, errors } = await query(/* GraphQL */ `
      {
        team(slug: "people-ops") {
          name
          namespaces { name description }
          instances { instanceId chunkSize namespace { description } }
        }
      }
    `);
    expect(errors).toBeUndefined();
    expect(data).toEqual({
      team: {
        name: "People Ops",
        namespaces: [{ name: "handbook", description: expect.stringMatching(/\S/) }],
        instances: [
          {
            instanceId: "onboarding",
            chunkSize: expect.any(Number),
            namespace: { description: expect.stringMatching(/\S/) },
          },
        ],
      },
    });
  });

  it("answers a key that matches nothing with null and no error, as Apollo Client's default errorPolicy needs", async () => {
    const { data, errors } = await query(
      `{ namespace(name: "no-such-namespace") { owner { name } } }`,
    );
    expect(errors).toBeUndefined();
    expect(data).toEqual({ namespace: null });
  });
});

describe("Relay's node(id:) across both subgraphs", () => {
  // Relay's refetch queries: `node(id:)` with a fragment on the type the id stands for.
  const REFETCH_INSTANCE = /* GraphQL */ `
    query InstanceRefetchQuery($id: ID!) { node(id: $id) { __typename ...InstanceCard } }
    fragment InstanceCard on Instance { id instanceId status namespace { name } }
  `;
  const REFETCH_TEAM = /* GraphQL */ `
    query TeamRefetchQuery($id: ID!) { node(id: $id) { __typename ...TeamCard } }
    fragment TeamCard on Team { id name namespaces { name } }
  `;
  const REFETCH_NAMESPACE = /* GraphQL */ `
    query NamespaceRefetchQuery($id: ID!) { node(id: $id) { __typename ...NamespaceCard } }
    fragment NamespaceCard on Namespace { id description owner { name } }
  `;

  it("resolves an id of this gateway's types", async () => {
    const id = encodeGlobalID("Instance", "default/gateway-docs");
    const { data, errors } = await query(REFETCH_INSTANCE, { id });
    expect(errors).toBeUndefined();
    expect(data).toEqual({
      node: {
        __typename: "Instance",
        id,
        instanceId: "gateway-docs",
        status: expect.any(String),
        namespace: { name: "default" },
      },
    });
  });

  it("resolves an id of the other subgraph's types", async () => {
    const { data, errors } = await query(REFETCH_TEAM, { id: teamId("search-platform") });
    expect(errors).toBeUndefined();
    expect(data).toEqual({
      node: {
        __typename: "Team",
        id: teamId("search-platform"),
        name: "Search Platform",
        namespaces: [{ name: "default" }],
      },
    });
  });

  it("resolves an id both subgraphs know, completing it from the other", async () => {
    const id = encodeGlobalID("Namespace", "default");
    const { data, errors } = await query(REFETCH_NAMESPACE, { id });
    expect(errors).toBeUndefined();
    expect(data).toEqual({
      node: {
        __typename: "Namespace",
        id,
        description: expect.stringMatching(/\S/),
        owner: { name: "Search Platform" },
      },
    });
  });

  // What README's Federation section says: without a fragment on the id's type, Hive picks the
  // subgraph for `node` by the fields asked, not by the id, and here it picks the catalog, which
  // has no instances.
  it("cannot route an id without a fragment on its type", async () => {
    const id = encodeGlobalID("Instance", "default/gateway-docs");
    const { data, errors } = await query(`query ($id: ID!) { node(id: $id) { id } }`, { id });
    expect(errors).toBeUndefined();
    expect(data).toEqual({ node: null });
  });

  it("answers an id that names nothing with null", async () => {
    const { data, errors } = await query(REFETCH_INSTANCE, {
      id: encodeGlobalID("Instance", "default/no-such-instance"),
    });
    expect(errors).toBeUndefined();
    expect(data).toEqual({ node: null });
  });
});

subscriptionSuite(() => supergraph, "sse");
