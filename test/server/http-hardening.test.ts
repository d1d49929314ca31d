import { type IncomingHttpHeaders, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aiSearchRequests, type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { type InProcessGateway, startInProcessGateway } from "../helpers/in-process.ts";

const QUERY = JSON.stringify({ query: "{ __typename }" });

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request through node:http, for what `fetch` will not send: many headers, another source address. */
function raw(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    localAddress?: string;
  },
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? "GET",
        headers: options.headers,
        localAddress: options.localAddress,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

// CSRF, methods and CORS are the plugins' decisions: those suites run the pipeline in process.
const GRAPHQL_URL = "http://gateway.test/graphql";

const post = (harness: InProcessGateway, body: BodyInit, headers: Record<string, string>) =>
  harness.yoga.fetch(GRAPHQL_URL, { method: "POST", headers, body });

const upstreamCalls = (harness: InProcessGateway) => aiSearchRequests(harness.local).length;

describe("request size", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway(
      {},
      { MAX_BODY_BYTES: "1024", MAX_HEADER_BYTES: "4096", MAX_HEADERS: "20" },
    );
  });
  afterAll(() => harness?.close());

  const json = { "content-type": "application/json" };

  it("answers a body over the cap with 413, by its Content-Length", async () => {
    const body = JSON.stringify({ query: "{ __typename }", variables: { pad: "x".repeat(1100) } });
    const response = await fetch(harness.gateway.graphqlUrl, {
      method: "POST",
      headers: json,
      body,
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: "REQUEST_ENTITY_TOO_LARGE" } }],
    });
  });

  it("answers a chunked body with 413 once it streams past the cap", async () => {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // Leading whitespace is valid JSON, so only the size can make this fail.
        for (let i = 0; i < 6; i++) controller.enqueue(encoder.encode(" ".repeat(200)));
        controller.enqueue(encoder.encode(QUERY));
        controller.close();
      },
    });
    const response = await fetch(harness.gateway.graphqlUrl, {
      method: "POST",
      headers: json,
      body,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
  });

  it("serves a body under the cap", async () => {
    const response = await fetch(harness.gateway.graphqlUrl, {
      method: "POST",
      headers: json,
      body: QUERY,
    });
    expect(response.status).toBe(200);
  });

  it("answers an oversize header with 431", async () => {
    const response = await raw(harness.gateway.graphqlUrl, {
      headers: { "x-padding": "a".repeat(5000) },
    });
    expect(response.status).toBe(431);
  });

  it("answers too many headers with 431, and serves as many as allowed", async () => {
    const headers = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, "1"]));
    const url = `${harness.gateway.graphqlUrl}?query=${encodeURIComponent("{ __typename }")}`;
    // node:http adds Host and Connection to the ones given.
    const over = await raw(url, { headers: headers(19) });
    expect(over.status).toBe(431);
    expect(JSON.parse(over.body)).toMatchObject({
      errors: [{ extensions: { code: "REQUEST_HEADER_FIELDS_TOO_LARGE" } }],
    });
    const at = await raw(url, { headers: headers(18) });
    expect(at.status).toBe(200);
  });
});

describe("CSRF and methods", () => {
  let harness: InProcessGateway;
  beforeAll(async () => {
    harness = await startInProcessGateway();
  });
  afterAll(() => harness?.close());

  it("refuses a mutation over GET with 405", async () => {
    const query = encodeURIComponent(
      `mutation { chatCompletion(input: { instanceIds: ["gateway-docs"], messages: [{ role: USER, content: "hi" }] }) { id } }`,
    );
    const before = upstreamCalls(harness);
    const response = await harness.yoga.fetch(`${GRAPHQL_URL}?query=${query}`, {
      headers: { accept: "application/json" },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect(upstreamCalls(harness)).toBe(before);
  });

  it.each([
    ["text/plain", QUERY],
    ["text/plain;charset=UTF-8", QUERY],
    ["application/x-www-form-urlencoded", `query=${encodeURIComponent("{ __typename }")}`],
    ["multipart/form-data; boundary=x", `--x\r\n\r\n${QUERY}\r\n--x--`],
  ])("refuses a %s POST without a preflight header", async (contentType, body) => {
    const response = await post(harness, body, { "content-type": contentType });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: "CSRF_PREVENTED" } }],
    });
  });

  it("refuses a POST with no content type", async () => {
    const response = await harness.yoga.fetch(GRAPHQL_URL, {
      method: "POST",
      body: new Blob([QUERY]),
    });
    expect(response.status).toBe(403);
  });

  it("lets a simple POST through with graphql-require-preflight", async () => {
    const response = await post(harness, `query=${encodeURIComponent("{ __typename }")}`, {
      "content-type": "application/x-www-form-urlencoded",
      "graphql-require-preflight": "1",
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("serves GET queries without a preflight header", async () => {
    const response = await harness.yoga.fetch(
      `${GRAPHQL_URL}?query=${encodeURIComponent("{ __typename }")}`,
    );
    expect(response.status).toBe(200);
  });

  it.each(["variables", "extensions"])(
    "answers a GET with %s that are not JSON with 400, not an internal error",
    async (param) => {
      const params = new URLSearchParams({ query: "{ __typename }", [param]: "{oops" });
      const response = await harness.yoga.fetch(`${GRAPHQL_URL}?${params}`, {
        headers: { accept: "application/json" },
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        errors: [{ extensions: { code: "BAD_REQUEST" } }],
      });
    },
  );

  it("sends no CORS headers at all when no origin is allowed", async () => {
    const response = await post(harness, QUERY, {
      "content-type": "application/json",
      origin: "https://app.example",
    });
    expect(response.status).toBe(200);
    const cors = [...response.headers.keys()].filter((name) => name.startsWith("access-control-"));
    expect(cors).toEqual([]);
  });
});

describe("CORS allowlist", () => {
  let harness: InProcessGateway;
  beforeAll(async () => {
    harness = await startInProcessGateway({
      CORS_ORIGINS: "https://app.example,http://localhost:5173",
    });
  });
  afterAll(() => harness?.close());

  const corsHeaders = (response: Response) =>
    Object.fromEntries(
      [...response.headers].filter(([name]) => name.startsWith("access-control-")),
    );

  it.each(["https://evil.example", "null", "https://app.example.evil.example"])(
    "gives the foreign origin %s no allow headers",
    async (origin) => {
      const response = await post(harness, QUERY, {
        "content-type": "application/json",
        origin,
      });
      expect(corsHeaders(response)).toEqual({});
      expect(response.headers.get("vary")).toMatch(/origin/i);
      const preflight = await harness.yoga.fetch(GRAPHQL_URL, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      });
      expect(corsHeaders(preflight)).toEqual({});
    },
  );

  it("reflects an allowed origin, never *", async () => {
    const response = await post(harness, QUERY, {
      "content-type": "application/json",
      origin: "http://localhost:5173",
    });
    expect(corsHeaders(response)).toMatchObject({
      "access-control-allow-origin": "http://localhost:5173",
      "access-control-allow-credentials": "true",
    });
    expect(response.headers.get("access-control-expose-headers")).toContain("retry-after");
    expect(response.headers.get("vary")).toMatch(/origin/i);
  });

  it("answers an allowed preflight", async () => {
    const response = await harness.yoga.fetch(GRAPHQL_URL, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization",
      },
    });
    expect(response.status).toBe(204);
    expect(corsHeaders(response)).toMatchObject({
      "access-control-allow-origin": "https://app.example",
      "access-control-allow-methods": "GET, POST",
      "access-control-allow-headers": "content-type, authorization",
    });
  });
});

describe("rate limiting", () => {
  let harness: GatewayHarness;
  const keys = ["first-client-key-0123456789", "second-client-key-0123456789"];
  beforeAll(async () => {
    harness = await startGateway({}, { RATE_LIMIT_PER_MINUTE: "3", AUTH_API_KEYS: keys.join(",") });
  });
  afterAll(() => harness?.close());

  const ask = (headers: Record<string, string> = {}, localAddress?: string) =>
    raw(harness.gateway.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: QUERY,
      localAddress,
    });

  it("answers 429 with Retry-After after the allowance, and spares probes", async () => {
    for (let i = 0; i < 3; i++) expect((await ask()).status).toBe(200);
    const limited = await ask();
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(JSON.parse(limited.body)).toEqual({
      errors: [
        {
          message: expect.any(String),
          extensions: { code: "RATE_LIMITED", retryAfterMs: retryAfter * 1000 },
        },
      ],
    });
    for (const path of ["/healthz", "/readyz"]) {
      expect((await fetch(`${harness.gateway.url}${path}`)).status).not.toBe(429);
    }
  });

  it("keeps a separate allowance per client", async () => {
    // Another source address is another anonymous client.
    expect((await ask({}, "127.0.0.2")).status).toBe(200);
    // Each API key is its own client, wherever it connects from.
    for (const key of keys) {
      for (let i = 0; i < 3; i++) expect((await ask({ "x-api-key": key })).status).toBe(200);
      expect((await ask({ "x-api-key": key })).status).toBe(429);
    }
  });
});
