import { SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { captureLogs } from "../helpers/logs.ts";
import { wsClient } from "../helpers/streams.ts";
import { CREATE_INSTANCE, CREATE_NAMESPACE, uploadItem } from "./helpers.ts";

const CLIENT_KEY = "client-key-0123456789abcdef";
const ADMIN_KEY = "admin-key-0123456789abcdef";
const SECRET = "scopes-test-secret-0123456789abcdef";

const jwt = (claims: Record<string, unknown>) =>
  new SignJWT({ sub: "jo", ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(SECRET));

const target = { namespace: "scoped-space", instanceId: "scoped-docs" };

/**
 * Every management mutation but uploadItem (sent as multipart below), each with input the
 * upstream accepts, in an order an admin can run them one after another.
 */
const MUTATIONS: [string, string, Record<string, unknown>][] = [
  ["createNamespace", CREATE_NAMESPACE, { input: { name: "scoped-new" } }],
  [
    "updateNamespace",
    "mutation($input: UpdateNamespaceInput!) { updateNamespace(input: $input) { userErrors { code } } }",
    { input: { name: "scoped-space", description: "changed" } },
  ],
  ["createInstance", CREATE_INSTANCE, { input: { ...target, instanceId: "scoped-new" } }],
  [
    "updateInstance",
    "mutation($input: UpdateInstanceInput!) { updateInstance(input: $input) { userErrors { code } } }",
    { input: { ...target, settings: { maxNumResults: 7 } } },
  ],
  [
    "syncItem",
    "mutation($input: SyncItemInput!) { syncItem(input: $input) { userErrors { code } } }",
    { input: { ...target, key: "kept.md" } },
  ],
  [
    "startInstanceSync",
    "mutation($input: StartInstanceSyncInput!) { startInstanceSync(input: $input) { userErrors { code } } }",
    { input: target },
  ],
  [
    "deleteItem",
    "mutation($input: DeleteItemInput!) { deleteItem(input: $input) { userErrors { code } } }",
    { input: { ...target, key: "kept.md" } },
  ],
  [
    "moveInstance",
    "mutation($input: MoveInstanceInput!) { moveInstance(input: $input) { userErrors { code } } }",
    { input: { ...target, instanceId: "scoped-mover", toNamespace: "scoped-target" } },
  ],
  [
    "deleteInstance",
    "mutation($input: DeleteInstanceInput!) { deleteInstance(input: $input) { userErrors { code } } }",
    { input: { ...target, instanceId: "scoped-new" } },
  ],
  [
    "deleteNamespace",
    "mutation($input: DeleteNamespaceInput!) { deleteNamespace(input: $input) { userErrors { code } } }",
    { input: { name: "scoped-empty" } },
  ],
];

let harness: GatewayHarness;
const admin = { "x-api-key": ADMIN_KEY };
const client = { "x-api-key": CLIENT_KEY };

beforeAll(async () => {
  harness = await startGateway(
    { indexingStepMs: 5 },
    {
      AUTH_REQUIRED: "true",
      AUTH_API_KEYS: CLIENT_KEY,
      AUTH_ADMIN_API_KEYS: ADMIN_KEY,
      AUTH_JWT_SECRET: SECRET,
    },
  );
  for (const name of ["scoped-space", "scoped-empty", "scoped-target"]) {
    await harness.graphql(CREATE_NAMESPACE, { input: { name } }, admin);
  }
  await harness.graphql(CREATE_INSTANCE, { input: target }, admin);
  await harness.graphql(
    CREATE_INSTANCE,
    { input: { ...target, instanceId: "scoped-mover" } },
    admin,
  );
  const kept = await uploadItem(
    harness.gateway.graphqlUrl,
    target,
    { filename: "kept.md", content: "# Kept\n\nkept" },
    { ...admin, "graphql-require-preflight": "1" },
  );
  expect(kept.body.data?.uploadItem.userErrors).toEqual([]);
});
afterAll(() => harness?.close());
afterEach(() => harness.local.resetRequests());

const expectForbidden = (
  response: {
    status: number;
    body: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
  },
  scope: string,
) => {
  expect(response.status).toBe(403);
  expect(response.body.data ?? null).toBeNull();
  expect(response.body.errors).toEqual([
    expect.objectContaining({ extensions: { code: "FORBIDDEN", scope } }),
  ]);
};

/** A multipart uploadItem with these credentials is refused, and the upstream hears nothing. */
async function expectUploadForbidden(headers: Record<string, string>) {
  const response = await uploadItem(
    harness.gateway.graphqlUrl,
    target,
    { filename: "nope.md", content: "# Nope\n\nnope" },
    { ...headers, "graphql-require-preflight": "1" },
  );
  expectForbidden(response, "admin");
  expect(harness.local.requests).toEqual([]);
}

describe("an AUTH_API_KEYS key (read and chat)", () => {
  it.each(MUTATIONS)(
    "gets FORBIDDEN on %s, and the upstream hears nothing",
    async (_field, query, variables) => {
      harness.local.resetRequests();
      expectForbidden(await harness.graphql(query, variables, client), "admin");
      expect(harness.local.requests).toEqual([]);
    },
  );

  it("gets FORBIDDEN on uploadItem, sent as a multipart upload", async () => {
    await expectUploadForbidden(client);
  });

  it("still reads and asks", async () => {
    const read = await harness.graphql(
      `query { instance(namespace: "scoped-space", id: "scoped-docs") { items { totalCount } jobs { totalCount } } }`,
      {},
      client,
    );
    expect(read.body).toEqual({
      data: { instance: { items: { totalCount: 1 }, jobs: { totalCount: 0 } } },
    });
    const asked = await harness.graphql(
      `mutation { chatCompletion(input: { namespace: "scoped-space", instanceIds: ["scoped-docs"], messages: [{ role: USER, content: "kept?" }] }) { content } }`,
      {},
      client,
    );
    expect(asked.status).toBe(200);
    expect(asked.body.errors).toBeUndefined();
  });

  it("refuses a whole operation that mixes a question with a write", async () => {
    const mixed = await harness.graphql(
      `mutation { chatCompletion(input: { namespace: "scoped-space", instanceIds: ["scoped-docs"], messages: [{ role: USER, content: "hi" }] }) { content } ...W }
       fragment W on Mutation { createNamespace(input: { name: "scoped-sneaky" }) { userErrors { code } } }`,
      {},
      client,
    );
    expectForbidden(mixed, "admin");
    expect(harness.local.requests).toEqual([]);
  });
});

describe("an AUTH_ADMIN_API_KEYS key", () => {
  it.each(MUTATIONS)("may run %s", async (field, query, variables) => {
    const response = await harness.graphql(query, variables, admin);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(
      (response.body.data as Record<string, { userErrors: unknown[] }>)[field]!.userErrors,
    ).toEqual([]);
  });
});

describe("JWT scopes", () => {
  const bearer = async (claims: Record<string, unknown>) => ({
    authorization: `Bearer ${await jwt(claims)}`,
  });

  it("aisearch:admin in `scope` allows a write", async () => {
    const headers = await bearer({ scope: "openid aisearch:read aisearch:admin" });
    const response = await harness.graphql(
      CREATE_NAMESPACE,
      { input: { name: "jwt-made" } },
      headers,
    );
    expect(response.body).toMatchObject({ data: { createNamespace: { userErrors: [] } } });
  });

  it.each([
    ["read only", { scope: "aisearch:read" }, "chat"],
    ["chat only", { scope: "aisearch:chat" }, "read"],
    ["no aisearch scope", { scope: "openid profile" }, "read"],
  ])("%s is held to it", async (_name, claims, missing) => {
    const headers = await bearer(claims);
    const query =
      missing === "chat"
        ? `mutation { chatCompletion(input: { namespace: "scoped-space", instanceIds: ["scoped-docs"], messages: [{ role: USER, content: "hi" }] }) { content } }`
        : `query { namespaces { totalCount } }`;
    expectForbidden(await harness.graphql(query, {}, headers), missing);
    expectForbidden(
      await harness.graphql(CREATE_NAMESPACE, { input: { name: "jwt-not" } }, headers),
      "admin",
    );
    expect(harness.local.requests).toEqual([]);
  });

  it.each(MUTATIONS)(
    "aisearch:read aisearch:chat gets FORBIDDEN on %s, and the upstream hears nothing",
    async (_field, query, variables) => {
      const headers = await bearer({ scope: "aisearch:read aisearch:chat" });
      expectForbidden(await harness.graphql(query, variables, headers), "admin");
      expect(harness.local.requests).toEqual([]);
    },
  );

  it("aisearch:read aisearch:chat gets FORBIDDEN on a multipart uploadItem", async () => {
    await expectUploadForbidden(await bearer({ scope: "aisearch:read aisearch:chat" }));
  });

  it("aisearch:admin uploads", async () => {
    const headers = await bearer({ scope: "aisearch:read aisearch:admin" });
    const response = await uploadItem(
      harness.gateway.graphqlUrl,
      target,
      { filename: "jwt.md", content: "# JWT\n\nby token" },
      { ...headers, "graphql-require-preflight": "1" },
    );
    expect(response.status).toBe(200);
    expect(response.body.data?.uploadItem).toMatchObject({
      item: { key: "jwt.md" },
      userErrors: [],
    });
  });

  it("a token without a `scope` claim is a plain client: read and chat", async () => {
    const headers = await bearer({});
    const read = await harness.graphql(`query { namespaces { totalCount } }`, {}, headers);
    expect(read.status).toBe(200);
    expectForbidden(
      await harness.graphql(CREATE_NAMESPACE, { input: { name: "jwt-plain" } }, headers),
      "admin",
    );
  });

  it("the progress subscription needs read, refused over graphql-ws before it runs", async () => {
    const chatOnly = await jwt({ scope: "aisearch:chat" });
    const ws = wsClient(harness.gateway.graphqlUrl, {
      connectionParams: { authorization: `Bearer ${chatOnly}` },
    });
    try {
      const refused = await (async () => {
        for await (const _result of ws.iterate({
          query: `subscription { instanceIndexingProgress(namespace: "scoped-space", instanceId: "scoped-docs") { __typename } }`,
        })) {
          return "a result";
        }
        return "completed";
      })().catch((error: unknown) => error);
      // A graphql-ws `error` message: the refusal of the operation, as HTTP's 403 is.
      expect(refused).toEqual([
        expect.objectContaining({ extensions: { code: "FORBIDDEN", scope: "read" } }),
      ]);
    } finally {
      await ws.dispose();
    }
    expect(harness.local.requests).toEqual([]);
  });
});

describe("pass-through mode", () => {
  let passThrough: GatewayHarness;
  beforeAll(async () => {
    passThrough = await startGateway(
      { indexingStepMs: 5 },
      { AUTH_REQUIRED: "true", AUTH_API_KEYS: CLIENT_KEY, PASS_THROUGH_CREDENTIALS: "true" },
    );
  });
  afterAll(() => passThrough?.close());

  it("lets the caller's Cloudflare token decide, not the gateway's scopes", async () => {
    const response = await passThrough.graphql(
      CREATE_NAMESPACE,
      { input: { name: "passed-through" } },
      { ...client, "x-cloudflare-api-token": "test-token-0123456789" },
    );
    expect(response.body).toMatchObject({
      data: { createNamespace: { namespace: { name: "passed-through" }, userErrors: [] } },
    });
    const refused = await passThrough.graphql(
      CREATE_NAMESPACE,
      { input: { name: "passed-refused" } },
      { ...client, "x-cloudflare-api-token": "someone-elses-token" },
    );
    expect(refused.body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_AUTH_FAILED");
  });
});

describe("the start-up notice", () => {
  it.each([
    ["authentication off", { AUTH_REQUIRED: "false" }, "warn", "every caller has every scope"],
    [
      "pass-through mode",
      { AUTH_REQUIRED: "true", AUTH_API_KEYS: CLIENT_KEY, PASS_THROUGH_CREDENTIALS: "true" },
      "info",
      "each caller's Cloudflare token decides",
    ],
    [
      "keys configured",
      { AUTH_REQUIRED: "true", AUTH_API_KEYS: CLIENT_KEY, AUTH_ADMIN_API_KEYS: ADMIN_KEY },
      undefined,
      undefined,
    ],
    // A caller without credentials is then a plain client (read, chat), as the verifier decides.
    [
      "only router keys configured, authentication optional",
      { AUTH_REQUIRED: "false", AUTH_ROUTER_API_KEYS: "router-key-0123456789abcdef" },
      undefined,
      undefined,
    ],
  ])("with %s says who decides", async (_name, env, level, says) => {
    const logs = captureLogs("info");
    const started = await startGateway({}, env, { logger: logs.logger });
    await started.close();
    const notices = logs.lines().filter((line) => line.msg.startsWith("authorization:"));
    expect(notices).toEqual(
      level ? [expect.objectContaining({ level, msg: expect.stringContaining(says) })] : [],
    );
  });
});
