import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";

let harness: GatewayHarness;

const instanceLookups = (namespace: string) =>
  harness.local.requests.filter(
    (r) => r.method === "GET" && r.path.includes(`/namespaces/${namespace}/instances`),
  );

beforeAll(async () => {
  harness = await startGateway();
});
afterAll(() => harness.close());
beforeEach(() => harness.local.resetRequests());

describe("instance lookups are batched per operation", () => {
  it("resolves every Chunk.instance of a completion with one listing of the namespace", async () => {
    const { body } = await harness.graphql<{
      chatCompletion: { chunks: { instanceId: string; instance: { instanceId: string } }[] };
    }>(
      /* GraphQL */ `
        mutation {
          chatCompletion(input: {
            instanceIds: ["gateway-docs", "ai-search-concepts", "frontend-recipes"]
            messages: [{ role: USER, content: "gateway instance chunk query stream" }]
            retrieval: { maxNumResults: 20 }
          }) {
            chunks { instanceId instance { instanceId chunkSize } }
          }
        }
      `,
    );
    expect(body.errors).toBeUndefined();
    const chunks = body.data!.chatCompletion.chunks;
    expect(new Set(chunks.map((c) => c.instanceId)).size).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.instance.instanceId).toBe(chunk.instanceId);
    expect(instanceLookups("default")).toHaveLength(1);
  });

  it("shares one listing between aliases, nested fields and several namespaces", async () => {
    const { body } = await harness.graphql<Record<string, { instanceId: string } | null>>(
      /* GraphQL */ `
        {
          a: instance(namespace: "default", id: "gateway-docs") { instanceId }
          b: instance(namespace: "default", id: "ai-search-concepts") { instanceId }
          c: instance(namespace: "default", id: "gateway-docs") { instanceId }
          d: namespace(name: "default") { instance(id: "frontend-recipes") { instanceId } }
          e: namespace(name: "handbook") { name }
        }
      `,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.a).toEqual({ instanceId: "gateway-docs" });
    expect(body.data!.b).toEqual({ instanceId: "ai-search-concepts" });
    expect(body.data!.c).toEqual({ instanceId: "gateway-docs" });
    expect(instanceLookups("default")).toHaveLength(1);
  });

  it("does not share its cache with the next operation", async () => {
    const query = `{ instance(namespace: "default", id: "gateway-docs") { instanceId } }`;
    await harness.graphql(query);
    await harness.graphql(query);
    expect(instanceLookups("default")).toHaveLength(2);
  });

  it("returns null for an instance missing from the listing, with no extra call", async () => {
    const { body } = await harness.graphql<{
      namespace: { x: unknown; y: { instanceId: string } };
    }>(
      `{ namespace(name: "default") { x: instance(id: "missing-one") { instanceId } y: instance(id: "gateway-docs") { instanceId } } }`,
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.namespace.x).toBeNull();
    expect(body.data!.namespace.y.instanceId).toBe("gateway-docs");
    expect(instanceLookups("default")).toHaveLength(1);
  });
});
