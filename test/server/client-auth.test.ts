import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";
import {
  anonymousClient,
  apiKeyClientId,
  createClientVerifier,
  presentedCredential,
} from "../../src/server/policy/client-auth.ts";
import { connectionHeaders } from "../../src/server/transports/connection-init.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";

const KEY_A = "key-a-0123456789abcdef";
const KEY_B = "key-b-fedcba9876543210";
const SECRET = "a-shared-secret-of-at-least-32-characters!";
const ISSUER = "https://issuer.test";
const AUDIENCE = "aisearch-gateway";
const QUERY = "{ __typename }";

/** Asserts the 401 shape every HTTP caller gets, whatever was wrong with its credentials. */
function expectUnauthenticated(response: {
  status: number;
  headers: Headers;
  body: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
}) {
  expect(response.status).toBe(401);
  expect(response.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors).toHaveLength(1);
  expect(response.body.errors![0]!.extensions?.code).toBe("UNAUTHENTICATED");
}

const hs256 = (
  claims: JWTPayload,
  options: { secret?: string; expiresIn?: string | number } = {},
) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "5m")
    .sign(new TextEncoder().encode(options.secret ?? SECRET));

describe("API keys", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway({}, { AUTH_REQUIRED: "true", AUTH_API_KEYS: `${KEY_A},${KEY_B}` });
  });
  afterAll(() => harness.close());

  it("refuses a request without credentials with 401 and a GraphQL-shaped body", async () => {
    const response = await harness.graphql(QUERY);
    expectUnauthenticated(response);
    expect(response.headers.get("www-authenticate")).not.toContain("error=");
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("refuses an unknown key, in either header, as an invalid token", async () => {
    const cases: Record<string, string>[] = [
      { authorization: "Bearer key-c-not-configured-000" },
      { "x-api-key": "key-c-not-configured-000" },
      { authorization: "Basic dXNlcjpwYXNz" },
      // Two values, as a proxy would join a repeated header.
      { "x-api-key": `${KEY_A}, ${KEY_B}` },
      // Both headers at once is ambiguous even when one of them is right.
      { authorization: `Bearer ${KEY_A}`, "x-api-key": "key-c-not-configured-000" },
    ];
    for (const headers of cases) {
      const response = await harness.graphql(QUERY, {}, headers);
      expectUnauthenticated(response);
      expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
  });

  it("serves a caller with a configured key, as a bearer token or in x-api-key", async () => {
    const bearer = await harness.graphql(QUERY, {}, { authorization: `Bearer ${KEY_A}` });
    expect(bearer.status).toBe(200);
    expect(bearer.body).toEqual({ data: { __typename: "Query" } });
    const header = await harness.graphql(QUERY, {}, { "x-api-key": KEY_B });
    expect(header.status).toBe(200);
    expect(header.body.data).toEqual({ __typename: "Query" });
  });

  it("checks operations sent by GET, while the GraphiQL page itself stays public", async () => {
    const url = `${harness.gateway.graphqlUrl}?query=${encodeURIComponent(QUERY)}`;
    const get = await fetch(url, { headers: { accept: "application/json" } });
    expect(get.status).toBe(401);
    const page = await fetch(harness.gateway.graphqlUrl, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    await page.text();
  });

  it("keeps the health endpoints public", async () => {
    const live = await fetch(`${harness.gateway.url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${harness.gateway.url}/readyz`);
    expect([200, 503]).toContain(ready.status);
    await ready.text();
  });

  it("lets CORS preflights through without credentials", async () => {
    const response = await fetch(harness.gateway.graphqlUrl, { method: "OPTIONS" });
    expect(response.status).not.toBe(401);
    await response.text();
  });
});

describe("JWTs signed with a shared secret (HS256)", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway(
      {},
      {
        AUTH_REQUIRED: "true",
        AUTH_JWT_SECRET: SECRET,
        AUTH_JWT_ISSUER: ISSUER,
        AUTH_JWT_AUDIENCE: AUDIENCE,
      },
    );
  });
  afterAll(() => harness.close());

  const asBearer = async (token: string) =>
    harness.graphql(QUERY, {}, { authorization: `Bearer ${token}` });

  it("serves a valid token", async () => {
    const token = await hs256({ sub: "alice", iss: ISSUER, aud: AUDIENCE });
    const response = await asBearer(token);
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ __typename: "Query" });
  });

  it.each([
    ["expired", () => hs256({ sub: "alice", iss: ISSUER, aud: AUDIENCE }, { expiresIn: 1 })],
    ["for another audience", () => hs256({ sub: "alice", iss: ISSUER, aud: "someone-else" })],
    ["from another issuer", () => hs256({ sub: "alice", iss: "https://evil.test", aud: AUDIENCE })],
    [
      "signed with another secret",
      () =>
        hs256({ sub: "alice", iss: ISSUER, aud: AUDIENCE }, { secret: `${SECRET}-but-different` }),
    ],
    ["without a subject", () => hs256({ iss: ISSUER, aud: AUDIENCE })],
    [
      "without an expiry",
      () =>
        new SignJWT({ sub: "alice", iss: ISSUER, aud: AUDIENCE })
          .setProtectedHeader({ alg: "HS256" })
          .sign(new TextEncoder().encode(SECRET)),
    ],
    [
      "unsigned (alg none)",
      async () => {
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
        const exp = Math.floor(Date.now() / 1000) + 300;
        return `${part({ alg: "none" })}.${part({ sub: "alice", iss: ISSUER, aud: AUDIENCE, exp })}.x`;
      },
    ],
  ])("refuses a token %s with 401", async (_, make) => {
    // `exp: 1` is 1970: far beyond any clock tolerance.
    const response = await asBearer(await make());
    expectUnauthenticated(response);
  });
});

describe("JWTs verified against a JWKS (RS256, ES256)", () => {
  let harness: GatewayHarness;
  let jwksServer: Server;
  let jwksRequests = 0;
  const rsa = generateKeyPair("RS256");
  const ec = generateKeyPair("ES256");

  beforeAll(async () => {
    const keys = [
      { ...(await exportJWK((await rsa).publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK((await ec).publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ];
    jwksServer = createServer((_req, res) => {
      jwksRequests++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    const { port } = jwksServer.address() as AddressInfo;
    harness = await startGateway(
      {},
      {
        AUTH_REQUIRED: "true",
        AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        AUTH_JWT_AUDIENCE: AUDIENCE,
      },
    );
  });
  afterAll(async () => {
    await harness.close();
    jwksServer.closeAllConnections();
    await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
  });

  const sign = async (alg: "RS256" | "ES256", kid: string, claims: JWTPayload) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg, kid })
      .setExpirationTime("5m")
      .sign((await (alg === "RS256" ? rsa : ec)).privateKey);

  it("serves tokens signed by a key of the set, with either algorithm", async () => {
    for (const [alg, kid] of [
      ["RS256", "rsa-1"],
      ["ES256", "ec-1"],
    ] as const) {
      const token = await sign(alg, kid, { sub: "service-a", aud: AUDIENCE });
      const response = await harness.graphql(QUERY, {}, { authorization: `Bearer ${token}` });
      expect(response.status).toBe(200);
      expect(response.body.data).toEqual({ __typename: "Query" });
    }
    expect(jwksRequests).toBeGreaterThan(0);
  });

  it("refuses a token signed by a key outside the set, or for another audience", async () => {
    const stranger = await generateKeyPair("RS256");
    const foreign = await new SignJWT({ sub: "mallory", aud: AUDIENCE })
      .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
      .setExpirationTime("5m")
      .sign(stranger.privateKey);
    expectUnauthenticated(await harness.graphql(QUERY, {}, { authorization: `Bearer ${foreign}` }));
    const elsewhere = await sign("RS256", "rsa-1", { sub: "service-a", aud: "other" });
    expectUnauthenticated(
      await harness.graphql(QUERY, {}, { authorization: `Bearer ${elsewhere}` }),
    );
  });

  it("refuses an HS256 token when only a JWKS is configured", async () => {
    const token = await hs256({ sub: "alice", aud: AUDIENCE });
    expectUnauthenticated(await harness.graphql(QUERY, {}, { authorization: `Bearer ${token}` }));
  });
});

describe("production defaults", () => {
  it("refuses to start without a way to authenticate clients", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/AUTH_API_KEYS/);
    expect(() => loadConfig({ AUTH_REQUIRED: "true" })).toThrow(ConfigError);
    expect(
      loadConfig({ NODE_ENV: "production", AUTH_REQUIRED: "false" }).security.authRequired,
    ).toBe(false);
    expect(loadConfig({}).security.authRequired).toBe(false);
  });

  it("refuses API keys too short to be secrets", () => {
    expect(() => loadConfig({ AUTH_API_KEYS: "short" })).toThrow(/AUTH_API_KEYS/);
  });

  it("requires credentials in production once keys are configured", async () => {
    const harness = await startGateway({}, { NODE_ENV: "production", AUTH_API_KEYS: KEY_A });
    try {
      expectUnauthenticated(await harness.graphql(QUERY));
      const live = await fetch(`${harness.gateway.url}/healthz`);
      expect(live.status).toBe(200);
      await live.text();
      const served = await harness.graphql(QUERY, {}, { "x-api-key": KEY_A });
      expect(served.body).toEqual({ data: { __typename: "Query" } });
      expect(served.status).toBe(200);
    } finally {
      await harness.close();
    }
  });
});

describe("optional authentication (development default)", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway({}, { AUTH_API_KEYS: KEY_A });
  });
  afterAll(() => harness.close());

  it("serves anonymous callers but still refuses a wrong key", async () => {
    expect((await harness.graphql(QUERY)).status).toBe(200);
    expect((await harness.graphql(QUERY, {}, { "x-api-key": KEY_A })).status).toBe(200);
    expectUnauthenticated(await harness.graphql(QUERY, {}, { "x-api-key": KEY_B }));
  });
});

describe("the shared verifier", () => {
  const anonymous = anonymousClient("127.0.0.1");

  it("names callers by key hash, JWT subject or address, never by the secret", async () => {
    const verifier = createClientVerifier({
      authRequired: true,
      apiKeys: [KEY_A],
      jwt: { secret: SECRET },
    });
    const byKey = await verifier.authenticate({ kind: "api-key", value: KEY_A }, anonymous);
    expect(byKey).toEqual({
      ok: true,
      client: { id: apiKeyClientId(KEY_A), kind: "api-key", scopes: new Set(["read", "chat"]) },
    });
    expect(apiKeyClientId(KEY_A)).toMatch(/^key:[0-9a-f]{16}$/);
    expect(apiKeyClientId(KEY_A)).not.toContain(KEY_A);
    const token = await hs256({ sub: "alice" });
    const byJwt = await verifier.authenticate({ kind: "bearer", value: token }, anonymous);
    expect(byJwt).toEqual({
      ok: true,
      client: { id: "jwt:alice", kind: "jwt", scopes: new Set(["read", "chat"]) },
    });
    expect(await verifier.authenticate({ kind: "none" }, anonymous)).toEqual({
      ok: false,
      reason: "missing",
    });
    const optional = createClientVerifier({ authRequired: false, apiKeys: [], jwt: undefined });
    expect(await optional.authenticate({ kind: "bearer", value: "whatever" }, anonymous)).toEqual({
      ok: true,
      client: { id: "ip:127.0.0.1", kind: "anonymous", scopes: new Set(["read", "chat", "admin"]) },
    });
  });

  it("remembers presented keys' digests, never a verdict, and only so many", () => {
    const verifier = createClientVerifier({ authRequired: true, apiKeys: [KEY_A], jwt: undefined });
    const asKey = (value: string) => verifier.authenticate({ kind: "api-key", value }, anonymous);
    // An unknown key sent again (its digest remembered now) is refused again.
    for (let i = 0; i < 3; i++) expect(asKey(KEY_B)).toEqual({ ok: false, reason: "invalid" });
    for (let i = 0; i < 3; i++) expect(asKey(KEY_A)).toMatchObject({ ok: true });
    // A key dropped from the configuration (a new verifier) is refused, even if sent before.
    const revoked = createClientVerifier({ authRequired: true, apiKeys: [KEY_B], jwt: undefined });
    expect(revoked.authenticate({ kind: "api-key", value: KEY_A }, anonymous)).toEqual({
      ok: false,
      reason: "invalid",
    });
    // A caller cycling through made-up keys only churns a bounded cache; the key still works.
    for (let i = 0; i < 3000; i++) asKey(`made-up-key-${i}`);
    expect(verifier.presentedDigests()).toBe(1024);
    expect(asKey(KEY_A)).toMatchObject({ ok: true, client: { id: apiKeyClientId(KEY_A) } });
    expect(asKey("made-up-key-2999")).toEqual({ ok: false, reason: "invalid" });
  });

  it("reads credentials from headers and connection_init payloads", () => {
    // A payload's credentials are moved into the headers an HTTP caller would send them in.
    const presentedInConnectionParams = (payload: Record<string, unknown>) => {
      const headers = connectionHeaders({}, payload);
      return presentedCredential(headers.get("authorization"), headers.get("x-api-key"));
    };
    expect(presentedCredential("Bearer abc.def", null)).toEqual({
      kind: "bearer",
      value: "abc.def",
    });
    expect(presentedCredential("bearer  abc", null)).toEqual({ kind: "bearer", value: "abc" });
    expect(presentedCredential("Bearer a, Bearer b", null)).toEqual({ kind: "malformed" });
    expect(presentedCredential(null, "k\u0000ey")).toEqual({ kind: "malformed" });
    expect(presentedCredential(null, null)).toEqual({ kind: "none" });
    expect(presentedInConnectionParams({ authorization: `Bearer ${KEY_A}` })).toEqual({
      kind: "bearer",
      value: KEY_A,
    });
    expect(presentedInConnectionParams({ apiKey: KEY_A })).toEqual({
      kind: "api-key",
      value: KEY_A,
    });
    expect(presentedInConnectionParams({ apiKey: 42 })).toEqual({ kind: "malformed" });
    expect(presentedInConnectionParams({ apiKey: "a\r\nb" })).toEqual({ kind: "malformed" });
    expect(presentedInConnectionParams({ other: 1 })).toEqual({ kind: "none" });
  });
});
