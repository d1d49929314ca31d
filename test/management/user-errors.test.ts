/**
 * Each refusal the upstream makes comes back as a typed user error in the mutation's payload,
 * with the data null and no GraphQL error; through the gateway on the real local AI Search.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { CREATE_INSTANCE, CREATE_NAMESPACE, uploadItem } from "./helpers.ts";

const NS = "refusal-space";
const ID = "refusal-docs";

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGateway(
    { indexingStepMs: 5, syncCooldownMs: 60_000 },
    // Room for a file over Cloudflare's 4 MiB item limit, so the upstream is the one to refuse it.
    { MAX_UPLOAD_BYTES: String(6 * 1024 * 1024) },
  );
  await harness.graphql(CREATE_NAMESPACE, { input: { name: NS } });
  await harness.graphql(CREATE_NAMESPACE, { input: { name: "refusal-other" } });
  await harness.graphql(CREATE_INSTANCE, { input: { namespace: NS, instanceId: ID } });
  await harness.graphql(CREATE_INSTANCE, {
    input: { namespace: "refusal-other", instanceId: ID },
  });
});
afterAll(() => harness?.close());

const DELETE_NAMESPACE = `mutation($input: DeleteNamespaceInput!) {
  deleteNamespace(input: $input) { name deletedNamespaceId userErrors { __typename code message field } }
}`;
const UPDATE_NAMESPACE = `mutation($input: UpdateNamespaceInput!) {
  updateNamespace(input: $input) { namespace { name } userErrors { __typename code message field } }
}`;
const MOVE = `mutation($input: MoveInstanceInput!) {
  moveInstance(input: $input) { instance { id } userErrors { __typename code message field } }
}`;
const SYNC = `mutation($input: StartInstanceSyncInput!) {
  startInstanceSync(input: $input) {
    job { jobId status source }
    userErrors { __typename code message ... on SyncTooSoonError { retryAfterMs } }
  }
}`;

describe("typed user errors", () => {
  it.each([
    [
      "a namespace name taken",
      CREATE_NAMESPACE,
      { input: { name: NS } },
      "createNamespace",
      "NameTakenError",
      "NAME_TAKEN",
    ],
    [
      "creating the default namespace",
      CREATE_NAMESPACE,
      { input: { name: "default" } },
      "createNamespace",
      "DefaultNamespaceError",
      "DEFAULT_NAMESPACE",
    ],
    [
      "an instance id taken in its namespace",
      CREATE_INSTANCE,
      { input: { namespace: NS, instanceId: ID } },
      "createInstance",
      "NameTakenError",
      "NAME_TAKEN",
    ],
    [
      "deleting a namespace that has instances",
      DELETE_NAMESPACE,
      { input: { name: NS } },
      "deleteNamespace",
      "NamespaceNotEmptyError",
      "NAMESPACE_NOT_EMPTY",
    ],
    [
      "deleting the default namespace",
      DELETE_NAMESPACE,
      { input: { name: "default" } },
      "deleteNamespace",
      "DefaultNamespaceError",
      "DEFAULT_NAMESPACE",
    ],
    [
      "describing the default namespace",
      UPDATE_NAMESPACE,
      { input: { name: "default", description: "mine now" } },
      "updateNamespace",
      "DefaultNamespaceError",
      "DEFAULT_NAMESPACE",
    ],
    [
      "moving into a namespace that has that id",
      MOVE,
      { input: { namespace: NS, instanceId: ID, toNamespace: "refusal-other" } },
      "moveInstance",
      "NameTakenError",
      "NAME_TAKEN",
    ],
  ])("%s", async (_name, document, variables, field, typename, code) => {
    const { status, body } = await harness.graphql(document, variables);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const payload = (body.data as Record<string, Record<string, unknown>>)[field]!;
    expect(payload.userErrors).toEqual([
      expect.objectContaining({ __typename: typename, code, message: expect.any(String) }),
    ]);
    // Nothing was returned as if it had worked.
    const { userErrors: _errors, ...rest } = payload;
    for (const value of Object.values(rest)) expect(value).toBeNull();
  });

  it("a sync started too soon after the last", async () => {
    const first = await harness.graphql(SYNC, { input: { namespace: NS, instanceId: ID } });
    expect(first.body.data).toMatchObject({
      startInstanceSync: { job: { status: expect.any(String), source: "USER" }, userErrors: [] },
    });
    const second = await harness.graphql(SYNC, { input: { namespace: NS, instanceId: ID } });
    expect(second.body.errors).toBeUndefined();
    expect(second.body.data).toEqual({
      startInstanceSync: {
        job: null,
        userErrors: [
          {
            __typename: "SyncTooSoonError",
            code: "SYNC_TOO_SOON",
            message: expect.any(String),
            retryAfterMs: expect.any(Number),
          },
        ],
      },
    });
    const data = second.body.data as {
      startInstanceSync: { userErrors: { retryAfterMs: number }[] };
    };
    const retryAfterMs = data.startInstanceSync.userErrors[0]!.retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(50_000);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it("an item key taken, and a file over the upstream's item limit", async () => {
    const url = harness.gateway.graphqlUrl;
    const target = { namespace: NS, instanceId: ID };
    const first = await uploadItem(url, target, {
      filename: "twice.md",
      content: "# Twice\n\nonce",
    });
    expect(first.body.data?.uploadItem.userErrors).toEqual([]);
    const again = await uploadItem(url, target, {
      filename: "twice.md",
      content: "# Twice\n\nagain",
    });
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data?.uploadItem).toMatchObject({
      item: null,
      userErrors: [{ code: "NAME_TAKEN", field: ["input", "file"] }],
    });

    const big = await uploadItem(url, target, {
      filename: "big.txt",
      type: "text/plain",
      content: "a".repeat(4 * 1024 * 1024 + 10),
    });
    expect(big.body.errors).toBeUndefined();
    expect(big.body.data?.uploadItem).toMatchObject({
      item: null,
      userErrors: [{ code: "FILE_TOO_LARGE" }],
    });
  });
});
