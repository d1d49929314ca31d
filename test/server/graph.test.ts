import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  InstanceDocument,
  NamespacesDocument,
  SearchDocument,
} from "../../operations/generated/graphql.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGateway();
});
afterAll(() => harness.close());

describe("namespaces, instances and nodes", () => {
  it("pages through namespaces with Relay cursors", async () => {
    const fetchPage = async (after: string | null) => {
      const { body } = await harness.graphql(NamespacesDocument, {
        first: 1,
        after,
        instancesFirst: 1,
      });
      expect(body.errors).toBeUndefined();
      return body.data!.namespaces;
    };
    const names: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const connection = await fetchPage(after);
      names.push(...connection.edges.map((edge) => edge.node.name));
      if (!connection.pageInfo.hasNextPage) {
        expect(names).toHaveLength(connection.totalCount!);
        break;
      }
      after = connection.pageInfo.endCursor;
    }
    expect(names).toContain("default");
    expect(new Set(names).size).toBe(names.length);
  });

  it("lists instances of a namespace and reads their stats", async () => {
    const { body } = await harness.graphql<{
      namespace: {
        id: string;
        instances: {
          totalCount: number;
          nodes: { id: string; instanceId: string; stats: { completed: number } }[];
        };
      };
    }>(
      `{ namespace(name: "default") { id instances(first: 10) { totalCount nodes { id instanceId stats { completed } } } } }`,
    );
    expect(body.errors).toBeUndefined();
    const { instances } = body.data!.namespace;
    expect(instances.totalCount).toBe(instances.nodes.length);
    expect(instances.nodes.map((n) => n.instanceId)).toContain("gateway-docs");
    for (const node of instances.nodes) expect(node.stats.completed).toBeGreaterThan(0);
  });

  it("reads one instance with its settings, namespace and stats", async () => {
    const { body } = await harness.graphql(InstanceDocument, {
      namespace: "default",
      id: "gateway-docs",
    });
    expect(body.errors).toBeUndefined();
    const instance = body.data!.instance!;
    expect(instance).toMatchObject({ instanceId: "gateway-docs", namespace: { name: "default" } });
    expect(Number.isNaN(Date.parse(instance.createdAt))).toBe(false);
    expect(instance.stats?.completed).toBeGreaterThan(0);
  });

  it("refetches namespaces and instances by global id", async () => {
    const { body } = await harness.graphql<{
      namespace: { id: string };
      instance: { id: string };
    }>(
      `{ namespace(name: "default") { id } instance(namespace: "default", id: "gateway-docs") { id } }`,
    );
    const ids = [body.data!.namespace.id, body.data!.instance.id];
    const refetched = await harness.graphql<{
      nodes: { __typename: string; name?: string; instanceId?: string }[];
    }>(
      `query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Namespace { name } ... on Instance { instanceId } } }`,
      { ids },
    );
    expect(refetched.body.errors).toBeUndefined();
    expect(refetched.body.data!.nodes).toEqual([
      { __typename: "Namespace", name: "default" },
      { __typename: "Instance", instanceId: "gateway-docs" },
    ]);
  });

  it("answers an unknown namespace with null and a hostile one with BAD_USER_INPUT", async () => {
    harness.local.resetRequests();
    const hostile = await harness.graphql(`{ namespace(name: "../accounts") { name } }`);
    expect(hostile.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(harness.local.requests).toEqual([]);
    const unknown = await harness.graphql(`{ namespace(name: "nope") { name } }`);
    expect(unknown.body).toEqual({ data: { namespace: null } });
  });

  it.each([
    ["Query.instance", `{ instance(namespace: "default", id: "../x") { instanceId } }`],
    [
      "Query.instance namespace",
      `{ instance(namespace: "a/b", id: "gateway-docs") { instanceId } }`,
    ],
    ["Namespace.instance", `{ namespace(name: "default") { instance(id: "A B") { instanceId } } }`],
    [
      "an instance global id",
      `{ node(id: "${Buffer.from("Instance:default/../x").toString("base64")}") { id } }`,
    ],
  ])("refuses a hostile instance id in %s before any instance lookup", async (_where, query) => {
    harness.local.resetRequests();
    const { body } = await harness.graphql(query);
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(harness.local.requests.filter((r) => r.path.includes("/instances"))).toEqual([]);
  });

  it("searches several instances without generating an answer", async () => {
    const { body } = await harness.graphql(SearchDocument, {
      input: { instanceIds: ["gateway-docs", "frontend-recipes"], query: "subscription" },
    });
    expect(body.errors).toBeUndefined();
    expect(body.data!.search.searchQuery).toBe("subscription");
    expect(body.data!.search.chunks.length).toBeGreaterThan(0);
  });

  it("serves health and readiness", async () => {
    const health = await fetch(`${harness.gateway.url}/healthz`);
    expect(health.status).toBe(200);
    // Ready once the start-up probe has reached the upstream.
    await vi.waitFor(
      async () => expect((await fetch(`${harness.gateway.url}/readyz`)).status).toBe(200),
      { timeout: 2_000, interval: 100 },
    );
  });

  it("echoes a safe request id and replaces an unsafe one", async () => {
    const safe = await harness.graphql(`{ __typename }`, undefined, {
      "x-request-id": "trace-123",
    });
    expect(safe.headers.get("x-request-id")).toBe("trace-123");
    const unsafe = await harness.graphql(`{ __typename }`, undefined, { "x-request-id": "a b<c>" });
    expect(unsafe.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves GraphiQL to browsers, self-contained and preloaded with the example", async () => {
    const page = await fetch(harness.gateway.graphqlUrl, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("AI Search GraphQL gateway");
    expect(html).toContain("chatCompletion(input:");
    // Works offline: no script or stylesheet is fetched from another origin.
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:\/\//);
  });
});
