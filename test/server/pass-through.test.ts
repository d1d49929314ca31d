import { connect } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  aiSearchRequests,
  type GatewayHarness,
  startGateway,
  TEST_TOKEN,
} from "../helpers/gateway.ts";
import { openRawSocket, type RawSocket } from "../helpers/raw-ws.ts";

// The local AI Search accepts only this token; the gateway's own (TEST_TOKEN) is refused.
const CALLER_TOKEN = "caller-token-0123456789abcdefghij";
const HEADER = "x-cloudflare-api-token";
const QUERY = "{ namespaces(first: 1) { totalCount } }";

let harness: GatewayHarness;
/** Every response body and header block seen, to prove no token is ever echoed. */
const seen: string[] = [];
const upstreamRequests = () => aiSearchRequests(harness.local);

async function post(headers: HeadersInit): Promise<{ status: number; body: ResponseBody }> {
  const response = await fetch(harness.gateway.graphqlUrl, {
    method: "POST",
    headers: new Headers([["content-type", "application/json"], ...new Headers(headers)]),
    body: JSON.stringify({ query: QUERY }),
  });
  const text = await response.text();
  seen.push(text, JSON.stringify([...response.headers]));
  return { status: response.status, body: JSON.parse(text) as ResponseBody };
}

interface ResponseBody {
  data?: { namespaces: { totalCount: number } } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** Sends bytes no Fetch client would send, and returns the status line. */
function rawRequest(headerLines: string): Promise<string> {
  const { hostname, port } = new URL(harness.gateway.graphqlUrl);
  const body = JSON.stringify({ query: QUERY });
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `POST /graphql HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${headerLines}\r\n${body}`,
      );
    });
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
    });
    socket.on("end", () => {
      seen.push(received);
      resolve(received.split("\r\n")[0]!);
    });
    socket.on("error", reject);
  });
}

beforeAll(async () => {
  harness = await startGateway({ apiToken: CALLER_TOKEN }, { PASS_THROUGH_CREDENTIALS: "true" });
  // Settle the start-up readiness probe (made with the gateway's own token, hence refused), so
  // it cannot land in a test's count of upstream requests.
  await (await fetch(`${harness.gateway.url}/readyz`)).text();
});
afterAll(async () => {
  for (const text of seen) {
    expect(text).not.toContain(CALLER_TOKEN);
    expect(text).not.toContain(TEST_TOKEN);
    expect(text).not.toContain("not-the-right-token");
  }
  await harness.close();
});
beforeEach(() => harness.local.resetRequests());

describe("credential pass-through over HTTP", () => {
  it("calls the upstream with the caller's token, not the gateway's", async () => {
    const { status, body } = await post({ [HEADER]: CALLER_TOKEN });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.namespaces.totalCount).toBeGreaterThan(0);
    expect(upstreamRequests().length).toBeGreaterThan(0);
    expect(upstreamRequests().every((r) => r.status === 200)).toBe(true);
  });

  it("refuses a request without the header instead of using the gateway's token", async () => {
    const { status, body } = await post({});
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    expect(body.errors?.[0]?.message).toContain(HEADER);
    expect(upstreamRequests()).toEqual([]);
  });

  it("reports an upstream refusal of the caller's token as UPSTREAM_AUTH_FAILED", async () => {
    const { status, body } = await post({ [HEADER]: "not-the-right-token" });
    expect(status).toBe(200);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_AUTH_FAILED");
    // Each caller's result stands alone: the success above is not reused for this token.
    expect(upstreamRequests().length).toBeGreaterThan(0);
  });

  it.each([
    ["two values of the header", [CALLER_TOKEN, CALLER_TOKEN]],
    ["a comma-joined pair", [`${CALLER_TOKEN},other`]],
    ["a space", [`${CALLER_TOKEN} extra`]],
    ["a tab", [`${CALLER_TOKEN}\textra`]],
    ["a scheme", [`Bearer ${CALLER_TOKEN}`]],
    ["an absurd length", ["x".repeat(2000)]],
  ])("refuses a token with %s with 401 and no upstream call", async (_, values) => {
    const headers = new Headers();
    for (const value of values) headers.append(HEADER, value);
    const { status, body } = await post(headers);
    expect(status).toBe(401);
    expect(body.errors?.[0]).toEqual({
      message: "The Cloudflare API token given is malformed.",
      extensions: { code: "UNAUTHENTICATED" },
    });
    expect(upstreamRequests()).toEqual([]);
  });

  it("never lets a CR or LF in the header reach the gateway or the upstream", async () => {
    // Fetch clients refuse to send these; a raw socket does, and Node's parser rejects them.
    expect(await rawRequest(`${HEADER}: ${CALLER_TOKEN}\rx-injected: 1\r\n`)).toMatch(/ 400 /);
    expect(await rawRequest(`${HEADER}: ${CALLER_TOKEN}\nx-injected: 1\r\n`)).toMatch(/ 400 /);
    expect(await rawRequest(`${HEADER}: ${CALLER_TOKEN}\r\n`)).toMatch(/ 200 /);
    expect(upstreamRequests().length).toBeGreaterThan(0);
    expect(upstreamRequests().every((r) => r.status === 200)).toBe(true);
  });
});

describe("credential pass-through over graphql-ws", () => {
  const sockets: RawSocket[] = [];
  afterAll(async () => {
    await Promise.all(sockets.map((raw) => raw.close()));
  });

  const init = async (payload?: Record<string, unknown>, headers?: Record<string, string>) => {
    const raw = await openRawSocket(harness.gateway.graphqlUrl, { headers });
    sockets.push(raw);
    raw.socket.on("message", (data) => seen.push(String(data)));
    raw.send({ type: "connection_init", ...(payload ? { payload } : {}) });
    return raw;
  };
  const query = async (raw: RawSocket) => {
    raw.send({ id: "q", type: "subscribe", payload: { query: QUERY } });
    return raw.nextFor("q");
  };

  it("uses the token from connection_init for the connection's operations", async () => {
    const raw = await init({ cloudflareApiToken: CALLER_TOKEN });
    expect((await raw.next()).type).toBe("connection_ack");
    const result = await query(raw);
    expect(result.type).toBe("next");
    expect(result.payload).toMatchObject({
      data: { namespaces: { totalCount: expect.any(Number) } },
    });
  });

  it("accepts the token on the upgrade request's header too", async () => {
    const raw = await init(undefined, { [HEADER]: CALLER_TOKEN });
    expect((await raw.next()).type).toBe("connection_ack");
    expect((await query(raw)).type).toBe("next");
  });

  it("closes 4401 without a token and 4403 with a malformed one, with no upstream call", async () => {
    expect((await (await init()).closed).code).toBe(4401);
    for (const token of [`${CALLER_TOKEN}\r\nx-injected: 1`, `${CALLER_TOKEN},x`, 42, ""]) {
      expect((await (await init({ cloudflareApiToken: token })).closed).code).toBe(4403);
    }
    expect(upstreamRequests()).toEqual([]);
  });
});
