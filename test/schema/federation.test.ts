/**
 * The gateway as a Federation 2 subgraph, composed with a second subgraph and queried through a
 * real Apollo Gateway (query planner and executor) over loopback.
 *
 * The second subgraph is a small "catalog" of teams: it adds `Namespace.owner` (joining on the
 * namespace name) and lists the instances a team looks after by their global ids, which only the
 * AI Search subgraph can turn into instances (`_entities`).
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { composeServices } from "@apollo/composition";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { type ExecutionResult, type GraphQLObjectType, getOperationAST, parse } from "graphql";
import { createYoga } from "graphql-yoga";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";

const CATALOG_SDL = /* GraphQL */ `
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key", "@shareable"])

  """A team that owns AI Search namespaces and looks after instances."""
  type Team @key(fields: "slug") {
    slug: ID!
    name: String!
    namespaces: [Namespace!]!
    instances: [Instance!]!
  }

  type Namespace @key(fields: "name") {
    name: String!
    owner: Team
  }

  """Known here only by its global id; the AI Search subgraph resolves everything else."""
  type Instance @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type TeamConnection {
    nodes: [Team!]!
    pageInfo: PageInfo!
  }

  """The Relay PageInfo every subgraph defines, so it must be shareable everywhere."""
  type PageInfo @shareable {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type Query {
    teams: TeamConnection!
    team(slug: ID!): Team
  }
`;

interface TeamRecord {
  slug: string;
  name: string;
  namespaces: string[];
  /** Global ids of instances, as the catalog would have stored them. */
  instanceIds: string[];
}

/** Serves the catalog subgraph on an ephemeral loopback port. */
async function startCatalog(teams: TeamRecord[]) {
  const bySlug = (slug: string) => teams.find((team) => team.slug === slug) ?? null;
  const schema = buildSubgraphSchema({
    typeDefs: parse(CATALOG_SDL),
    resolvers: {
      Query: {
        teams: () => ({
          nodes: teams,
          pageInfo: {
            hasNextPage: false,
            hasPreviousPage: false,
            startCursor: null,
            endCursor: null,
          },
        }),
        team: (_root: unknown, args: { slug: string }) => bySlug(args.slug),
      },
      Team: {
        __resolveReference: (reference: { slug: string }) => bySlug(reference.slug),
        namespaces: (team: TeamRecord) => team.namespaces.map((name) => ({ name })),
        instances: (team: TeamRecord) => team.instanceIds.map((id) => ({ id })),
      },
      Namespace: {
        __resolveReference: (reference: { name: string }) => ({ name: reference.name }),
        owner: (namespace: { name: string }) =>
          teams.find((team) => team.namespaces.includes(namespace.name)) ?? null,
      },
    },
  });
  const yoga = createYoga({ schema, logging: false, graphiql: false, landingPage: false });
  const server: Server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

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
      instanceIds: defaultInstances.map((instance) => instance.id),
    },
    { slug: "people-ops", name: "People Ops", namespaces: ["handbook"], instanceIds: [] },
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
    expect(subgraphSdl).toMatch(/type Namespace implements Node\s+@key\(fields: "name"\)/);
    expect(subgraphSdl).toMatch(/type Instance implements Node\s+@key\(fields: "id"\)/);
    expect(subgraphSdl).toMatch(/type PageInfo\s+@shareable/);
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
        query TeamInventory($slug: ID!) {
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
        query TeamInstances($slug: ID!) {
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
