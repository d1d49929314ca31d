/**
 * The read side of management in the graph: `Instance.items` (paged past the upstream's 50 per
 * page, filtered by status), `Item` and `Job` with their chunks and logs, both through
 * `node(id:)`, and the per-request loaders batching their reads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { CREATE_INSTANCE, CREATE_NAMESPACE, requestsTo, uploadItem } from "./helpers.ts";

const NS = "graph-space";
const ID = "graph-docs";
const ITEMS = 55;

let harness: GatewayHarness;
let jobGlobalId: string;

beforeAll(async () => {
  harness = await startGateway({ indexingStepMs: 1, syncCooldownMs: 0 });
  await harness.graphql(CREATE_NAMESPACE, { input: { name: NS } });
  await harness.graphql(CREATE_INSTANCE, { input: { namespace: NS, instanceId: ID } });
  for (let n = 0; n < ITEMS; n++) {
    const key = `doc-${String(n).padStart(2, "0")}.md`;
    const uploaded = await uploadItem(
      harness.gateway.graphqlUrl,
      { namespace: NS, instanceId: ID, waitForCompletion: true },
      { filename: key, content: `# Document ${n}\n\nParagraph one of ${n}.\n\nParagraph two.` },
    );
    expect(uploaded.body.data?.uploadItem.userErrors).toEqual([]);
  }
  const job = await harness.graphql<{ startInstanceSync: { job: { id: string } } }>(
    `mutation { startInstanceSync(input: { namespace: "${NS}", instanceId: "${ID}", description: "graph test" }) { job { id } } }`,
  );
  jobGlobalId = job.body.data!.startInstanceSync.job.id;
}, 60_000);
afterAll(() => harness?.close());

describe("items and jobs in the graph", () => {
  it("pages Instance.items past the upstream's page size, with totalCount and a status filter", async () => {
    harness.local.resetRequests();
    const { body } = await harness.graphql<{
      instance: {
        items: { totalCount: number; edges: { node: { key: string; status: string } }[] };
        none: { totalCount: number };
      };
    }>(
      `query { instance(namespace: "${NS}", id: "${ID}") {
        items(first: 60) { totalCount edges { node { key status } } }
        none: items(status: ERROR) { totalCount }
      } }`,
    );
    expect(body.errors).toBeUndefined();
    const items = body.data!.instance.items;
    expect(items.totalCount).toBe(ITEMS);
    expect(items.edges).toHaveLength(ITEMS);
    expect(new Set(items.edges.map((e) => e.node.key)).size).toBe(ITEMS);
    expect(items.edges.every((e) => e.node.status === "COMPLETED")).toBe(true);
    expect(body.data!.instance.none.totalCount).toBe(0);
    // 60 asked, 50 per upstream page: two pages, plus one for the filtered count.
    expect(requestsTo(harness.local, "/items", "GET")).toBe(3);
  });

  it("reads an item's fields, chunks and logs, and finds it again by node(id:)", async () => {
    const { body } = await harness.graphql<{
      instance: { item: { id: string; key: string } };
    }>(
      `query { instance(namespace: "${NS}", id: "${ID}") { item(key: "doc-07.md") {
        id key status fileSize chunksCount createdAt lastSeenAt sourceId
        instance { instanceId }
        chunks(first: 1) { edges { node { text startByte endByte } } pageInfo { hasNextPage } }
        logs(first: 5) { action message timestamp }
      } } }`,
    );
    expect(body.errors).toBeUndefined();
    const item = body.data!.instance.item;
    expect(item).toMatchObject({
      key: "doc-07.md",
      status: "COMPLETED",
      sourceId: "builtin",
      instance: { instanceId: ID },
      chunks: { edges: [{ node: { text: expect.stringContaining("7") } }] },
      logs: expect.arrayContaining([expect.objectContaining({ action: "upload" })]),
    });
    const again = await harness.graphql(
      `query($id: ID!) { node(id: $id) { __typename id ... on Item { key } } }`,
      { id: item.id },
    );
    expect(again.body).toEqual({
      data: { node: { __typename: "Item", id: item.id, key: "doc-07.md" } },
    });
  });

  it("derives a job's status and finds it by node(id:)", async () => {
    const { body } = await harness.graphql(
      `query($id: ID!) {
        node(id: $id) { ... on Job { jobId status source description endReason logs { totalCount } instance { instanceId } } }
        instance(namespace: "${NS}", id: "${ID}") { jobs(first: 1) { totalCount edges { node { id } } } }
      }`,
      { id: jobGlobalId },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data).toMatchObject({
      node: { source: "USER", description: "graph test", instance: { instanceId: ID } },
      instance: { jobs: { totalCount: 1, edges: [{ node: { id: jobGlobalId } }] } },
    });
    const status = (body.data as { node: { status: string; endReason: string | null } }).node;
    expect(["RUNNING", "COMPLETED"]).toContain(status.status);
    expect(status.status === "COMPLETED").toBe(status.endReason === "completed");
  });

  it("batches item reads per operation: one read per distinct item", async () => {
    const listed = await harness.graphql<{
      instance: { items: { edges: { node: { id: string } }[] } };
    }>(
      `query { instance(namespace: "${NS}", id: "${ID}") { items(first: 3) { edges { node { id } } } } }`,
    );
    const ids = listed.body.data!.instance.items.edges.map((e) => e.node.id);
    harness.local.resetRequests();
    const { body } = await harness.graphql(
      `query($ids: [ID!]!) {
        nodes(ids: $ids) { ... on Item { key } }
        instance(namespace: "${NS}", id: "${ID}") {
          a: item(key: "doc-01.md") { key }
          b: item(key: "doc-01.md") { key }
        }
      }`,
      { ids },
    );
    expect(body.errors).toBeUndefined();
    // One read per distinct item, and one lookup by key for the two asking for the same key.
    expect(requestsTo(harness.local, "/items/", "GET")).toBe(3);
    expect(
      harness.local.requests.filter((r) => r.path.endsWith("/items") && r.query.includes("key=")),
    ).toHaveLength(1);
  });

  it("refuses malformed item and job ids without an upstream request", async () => {
    harness.local.resetRequests();
    const malformed = Buffer.from(`Item:${NS}/${ID}/../../x`).toString("base64");
    const { body } = await harness.graphql(`query($id: ID!) { node(id: $id) { id } }`, {
      id: malformed,
    });
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(harness.local.requests).toEqual([]);
  });
});
