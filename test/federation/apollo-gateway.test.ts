/**
 * The gateway as a Federation 2 subgraph, composed with the catalog subgraph (catalog-subgraph.ts)
 * by Apollo's composition and queried through a real Apollo Gateway (query planner and executor)
 * over loopback. Apollo Gateway has no subscriptions: those go through Hive Gateway
 * (hive-gateway*.test.ts).
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { composeServices } from "@apollo/composition";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { type ExecutionResult, type GraphQLObjectType, getOperationAST, parse } from "graphql";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { CATALOG_SDL, startCatalog, teamId } from "./catalog-subgraph.ts";

/** What the gateway sent to a subgraph, for asserting on query plans. */
interface SubgraphFetch {
  subgraph: string;
  query: string;
  representations: number;
}

/**
 * The gateway is CommonJS and builds its schema with graphql's CommonJS build, while vitest
 * resolves `import "graphql"` in this file to the ESM build; graphql refuses to validate against
 * a schema from the other copy, so validation borrows the gateway's.
 */
const { validate } = createRequire(import.meta.url)("graphql") as typeof import("graphql");

type GatewayExecutor = Awaited<ReturnType<ApolloGateway["load"]>>["executor"];
type GatewayRequestContext = Parameters<GatewayExecutor>[0];

/**
 * Runs operations through an in-process ApolloGateway. Apollo Server normally parses, validates
 * and builds the request context; those few steps are done here, so the query planner, the
 * executor and the subgraph HTTP calls are the gateway's own.
 */
async function startSupergraph(supergraphSdl: string) {
  const fetches: SubgraphFetch[] = [];
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource({
        url,
        willSendRequest({ request }) {
          const representations = request.variables?.representations;
          fetches.push({
            subgraph: name,
            query: request.query ?? "",
            representations: Array.isArray(representations) ? representations.length : 0,
          });
        },
      }),
  });
  const { schema, executor } = await gateway.load();

  async function execute<T>(source: string, variables: Record<string, unknown> = {}) {
    const document = parse(source);
    const errors = validate(schema, document);
    if (errors.length > 0) {
      throw new Error(`invalid operation: ${errors.map((e) => e.message).join("; ")}`);
    }
    const requestContext = {
      request: { query: source, variables },
      document,
      source,
      queryHash: createHash("sha256").update(source).digest("hex"),
      operationName: getOperationAST(document)?.name?.value ?? null,
      context: {},
      // The executor notes subgraph error paths here.
      metrics: {},
    };
    const result = await executor(requestContext as unknown as GatewayRequestContext);
    return result as ExecutionResult<T>;
  }

  return { schema, fetches, execute, stop: () => gateway.stop() };
}

let harness: GatewayHarness;
let catalog: Awaited<ReturnType<typeof startCatalog>>;
let supergraph: Awaited<ReturnType<typeof startSupergraph>>;
let subgraphSdl: string;
/** The instances of the default namespace, in upstream order. */
let defaultInstances: { id: string; instanceId: string }[];

/** Upstream (local AI Search) requests, as `METHOD /path-after-ai-search`. */
const upstreamCalls = () =>
  harness.local.requests
    .filter((r) => r.path.includes("/ai-search/"))
    .map((r) => `${r.method} ${r.path.slice(r.path.indexOf("/ai-search/") + "/ai-search".length)}`);

beforeAll(async () => {
  harness = await startGateway();

  const service = await harness.graphql<{ _service: { sdl: string } }>(`{ _service { sdl } }`);
  expect(service.body.errors).toBeUndefined();
  subgraphSdl = service.body.data!._service.sdl;

  const listing = await harness.graphql<{
    namespace: { instances: { nodes: { id: string; instanceId: string }[] } };
  }>(`{ namespace(name: "default") { instances(first: 20) { nodes { id instanceId } } } }`);
  expect(listing.body.errors).toBeUndefined();
  defaultInstances = listing.body.data!.namespace.instances.nodes;
  expect(defaultInstances.length).toBeGreaterThanOrEqual(3);

  catalog = await startCatalog([
    {
      slug: "search-platform",
      name: "Search Platform",
      namespaces: ["default"],
      instances: defaultInstances.map(({ instanceId }) => ({ namespace: "default", instanceId })),
    },
    { slug: "people-ops", name: "People Ops", namespaces: ["handbook"], instances: [] },
  ]);

  const composed = composeServices([
    { name: "aisearch", url: harness.gateway.graphqlUrl, typeDefs: parse(subgraphSdl) },
    { name: "catalog", url: catalog.url, typeDefs: parse(CATALOG_SDL) },
  ]);
  expect(composed.errors?.map((error) => error.message) ?? []).toEqual([]);
  if (!composed.supergraphSdl) throw new Error("composition produced no supergraph");
  supergraph = await startSupergraph(composed.supergraphSdl);
});

afterAll(async () => {
  await supergraph?.stop();
  await catalog?.close();
  await harness?.close();
});

beforeEach(() => {
  harness.local.resetRequests();
  supergraph.fetches.length = 0;
});

describe("the AI Search subgraph", () => {
  it("serves its SDL with the entity keys and the Federation 2 link", () => {
    expect(subgraphSdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.6"');
    expect(subgraphSdl).toMatch(
      /type Namespace implements Node\s+@key\(fields: "name"\)\s+@key\(fields: "id"\)/,
    );
    expect(subgraphSdl).toMatch(
      /type Instance implements Node\s+@key\(fields: "id"\)\s+@key\(fields: "instanceId namespace \{ name \}"\)/,
    );
    expect(subgraphSdl).toMatch(/type PageInfo\s+@shareable/);
    // Every Relay subgraph has its own `Query.node`: shareable, or composition refuses.
    expect(subgraphSdl).toMatch(/node\([^)]*\): Node @shareable/);
    expect(subgraphSdl).toMatch(/nodes\([^)]*\): \[Node\]! @shareable/);
  });

  it("composes with a second subgraph into a supergraph that keeps the whole API", () => {
    const api = supergraph.schema;
    const namespace = api.getType("Namespace") as GraphQLObjectType;
    expect(Object.keys(namespace.getFields())).toEqual(
      expect.arrayContaining(["name", "description", "instances", "owner"]),
    );
    expect(api.getMutationType()?.getFields().chatCompletion).toBeDefined();
    expect(api.getSubscriptionType()?.getFields().chatCompletionStream).toBeDefined();
  });

  it("resolves several Instance references in one _entities call with one instance listing", async () => {
    const [first, second, third] = defaultInstances;
    const { body } = await harness.graphql<{
      _entities: ({ __typename: string; instanceId?: string; name?: string } | null)[];
    }>(
      /* GraphQL */ `
        query ($representations: [_Any!]!) {
          _entities(representations: $representations) {
            __typename
            ... on Instance { instanceId }
            ... on Namespace { name }
          }
        }
      `,
      {
        representations: [
          { __typename: "Instance", id: third!.id },
          { __typename: "Instance", id: first!.id },
          { __typename: "Instance", id: encodeGlobalID("Instance", "default/no-such-instance") },
          { __typename: "Instance", id: second!.id },
          // A global id of another type is not an instance.
          { __typename: "Instance", id: encodeGlobalID("Namespace", "default") },
          { __typename: "Namespace", name: "handbook" },
        ],
      },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities).toEqual([
      { __typename: "Instance", instanceId: third!.instanceId },
      { __typename: "Instance", instanceId: first!.instanceId },
      null,
      { __typename: "Instance", instanceId: second!.instanceId },
      null,
      { __typename: "Namespace", name: "handbook" },
    ]);
    const calls = upstreamCalls();
    expect(calls.filter((call) => call.includes("/namespaces/default/instances"))).toEqual([
      "GET /namespaces/default/instances",
    ]);
    expect(calls).toHaveLength(2); // that listing and the handbook namespace
  });
});

describe("queries across both subgraphs through the gateway", () => {
  it("extends a Namespace from the catalog: owner next to description and instances", async () => {
    const result = await supergraph.execute<{
      namespace: {
        name: string;
        description: string | null;
        owner: { name: string } | null;
        instances: { nodes: { instanceId: string }[] };
      };
      handbook: { owner: { slug: string } | null };
    }>(/* GraphQL */ `
      query NamespaceWithOwner {
        namespace(name: "default") {
          name
          description
          owner { name }
          instances(first: 2) { nodes { instanceId } }
        }
        handbook: namespace(name: "handbook") { owner { slug } }
      }
    `);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      namespace: {
        name: "default",
        description: expect.stringMatching(/\S/),
        owner: { name: "Search Platform" },
        instances: {
          nodes: defaultInstances.slice(0, 2).map(({ instanceId }) => ({ instanceId })),
        },
      },
      handbook: { owner: { slug: "people-ops" } },
    });
    // The root fields come from AI Search; `owner` is then fetched from the catalog by entity key
    // (one `_entities` fetch per aliased path).
    const [root, ...owners] = supergraph.fetches;
    expect(root).toMatchObject({ subgraph: "aisearch", representations: 0 });
    expect(owners.length).toBeGreaterThan(0);
    for (const fetch of owners) {
      expect(fetch.subgraph).toBe("catalog");
      expect(fetch.query).toContain("_entities");
    }
    expect(owners.reduce((sum, fetch) => sum + fetch.representations, 0)).toBe(2);
  });

  it("resolves Namespace and Instance entities referenced by the catalog", async () => {
    const result = await supergraph.execute<{
      team: {
        name: string;
        namespaces: {
          name: string;
          description: string | null;
          instances: { totalCount: number | null };
        }[];
        instances: { instanceId: string; namespace: { name: string } }[];
      } | null;
      teams: { nodes: { slug: string }[]; pageInfo: { hasNextPage: boolean } };
    }>(
      /* GraphQL */ `
        query TeamInventory($slug: String!) {
          team(slug: $slug) {
            name
            namespaces { name description instances { totalCount } }
            instances { instanceId namespace { name } }
          }
          teams { nodes { slug } pageInfo { hasNextPage } }
        }
      `,
      { slug: "search-platform" },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.team).toEqual({
      name: "Search Platform",
      namespaces: [
        {
          name: "default",
          description: expect.stringMatching(/\S/),
          instances: { totalCount: defaultInstances.length },
        },
      ],
      instances: defaultInstances.map(({ instanceId }) => ({
        instanceId,
        namespace: { name: "default" },
      })),
    });
    expect(result.data!.teams).toEqual({
      nodes: [{ slug: "search-platform" }, { slug: "people-ops" }],
      pageInfo: { hasNextPage: false },
    });
  });

  it("batches the instance references of one plan into a single _entities call and listing", async () => {
    const result = await supergraph.execute<{
      team: { instances: { instanceId: string; chunkSize: number | null }[] } | null;
    }>(
      /* GraphQL */ `
        query TeamInstances($slug: String!) {
          team(slug: $slug) { instances { instanceId chunkSize } }
        }
      `,
      { slug: "search-platform" },
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!.team!.instances.map((i) => i.instanceId)).toEqual(
      defaultInstances.map((i) => i.instanceId),
    );
    const entityFetches = supergraph.fetches.filter((fetch) => fetch.subgraph === "aisearch");
    expect(entityFetches).toHaveLength(1);
    expect(entityFetches[0]!.query).toContain("_entities");
    expect(entityFetches[0]!.representations).toBe(defaultInstances.length);
    expect(upstreamCalls()).toEqual(["GET /namespaces/default/instances"]);
  });
});

describe("Relay's node(id:) through Apollo Gateway", () => {
  const REFETCH = /* GraphQL */ `
    query Refetch($instance: ID!, $team: ID!, $namespace: ID!) {
      instance: node(id: $instance) { __typename ... on Instance { id instanceId } }
      team: node(id: $team) { __typename ... on Team { id name } }
      namespace: node(id: $namespace) { __typename ... on Namespace { id description owner { slug } } }
    }
  `;

  // What README's Federation section says: Apollo's planner takes a shareable `node` to return
  // only the types every Relay subgraph's `node` returns (here Namespace, which both declare),
  // and drops fragments on the others; Hive Gateway routes by the fragment instead.
  it("resolves ids of the node types both subgraphs declare, and only those", async () => {
    const namespace = encodeGlobalID("Namespace", "default");
    const result = await supergraph.execute(REFETCH, {
      instance: encodeGlobalID("Instance", "default/gateway-docs"),
      team: teamId("search-platform"),
      namespace,
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      instance: null,
      team: null,
      namespace: {
        __typename: "Namespace",
        id: namespace,
        description: expect.stringMatching(/\S/),
        owner: { slug: "search-platform" },
      },
    });
  });
});
