/**
 * A small second subgraph of the tests' own: a Relay "catalog" of the teams that own namespaces
 * and look after instances. It has its own `Query.node` (for `Team`), extends `Namespace`
 * (`owner`) and `Instance` (`team`, joined on the instance's natural key), and lists the
 * instances a team looks after by that key, which only the AI Search subgraph can resolve.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";
import { createYoga } from "graphql-yoga";

export const CATALOG_SDL = /* GraphQL */ `
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.6", import: ["@key", "@shareable"])

  interface Node {
    id: ID!
  }

  """A team that owns namespaces and looks after instances."""
  type Team implements Node @key(fields: "id") {
    id: ID!
    slug: String!
    name: String!
    namespaces: [Namespace!]!
    instances: [Instance!]!
  }

  """
  The AI Search subgraph's namespace: a node here too, since its global id holds only its name,
  so this subgraph's \`node\` answers a namespace's id with a reference the router completes.
  """
  type Namespace implements Node @key(fields: "name") @key(fields: "id", resolvable: false) {
    id: ID!
    name: String!
    owner: Team
  }

  """Known here by its natural key; the AI Search subgraph resolves everything else."""
  type Instance @key(fields: "instanceId namespace { name }") {
    instanceId: String!
    namespace: Namespace!
    team: Team
  }

  type TeamConnection {
    nodes: [Team!]!
    pageInfo: PageInfo!
  }

  type PageInfo @shareable {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type Query {
    teams: TeamConnection!
    team(slug: String!): Team
    node(id: ID!): Node @shareable
    nodes(ids: [ID!]!): [Node]! @shareable
  }
`;

export interface TeamRecord {
  slug: string;
  name: string;
  namespaces: string[];
  /** The instances it looks after, by natural key. */
  instances: { namespace: string; instanceId: string }[];
}

export const teamId = (slug: string) => Buffer.from(`Team:${slug}`).toString("base64");

/** Serves the catalog on an ephemeral loopback port; `requests` counts what reached it. */
export async function startCatalog(teams: TeamRecord[]) {
  const bySlug = (slug: string) => teams.find((team) => team.slug === slug) ?? null;
  const byId = (id: string) => {
    const decoded = Buffer.from(id, "base64").toString();
    if (decoded.startsWith("Namespace:"))
      return { __typename: "Namespace", id, name: decoded.slice(10) };
    return decoded.startsWith("Team:") ? bySlug(decoded.slice("Team:".length)) : null;
  };
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
        node: (_root: unknown, args: { id: string }) => byId(args.id),
        nodes: (_root: unknown, args: { ids: string[] }) => args.ids.map(byId),
      },
      Node: {
        __resolveType: (node: { __typename?: string }) => node.__typename ?? "Team",
      },
      Team: {
        __resolveReference: (reference: { id: string }) => byId(reference.id),
        id: (team: TeamRecord) => teamId(team.slug),
        namespaces: (team: TeamRecord) => team.namespaces.map((name) => ({ name })),
        instances: (team: TeamRecord) =>
          team.instances.map(({ namespace, instanceId }) => ({
            instanceId,
            namespace: { name: namespace },
          })),
      },
      Namespace: {
        __resolveReference: (reference: { name: string }) => ({ name: reference.name }),
        id: (namespace: { name: string }) =>
          Buffer.from(`Namespace:${namespace.name}`).toString("base64"),
        owner: (namespace: { name: string }) =>
          teams.find((team) => team.namespaces.includes(namespace.name)) ?? null,
      },
      Instance: {
        team: (instance: { instanceId: string; namespace: { name: string } }) =>
          teams.find((team) =>
            team.instances.some(
              (i) =>
                i.instanceId === instance.instanceId && i.namespace === instance.namespace.name,
            ),
          ) ?? null,
      },
    },
  });
  let requests = 0;
  const yoga = createYoga({
    schema,
    logging: false,
    graphiql: false,
    landingPage: false,
    plugins: [{ onRequest: () => void requests++ }],
  });
  const server: Server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    get requests() {
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
