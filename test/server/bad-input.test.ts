/**
 * The bad-input table in one place: every row sends one hostile request or provokes one
 * upstream fault, and its outcome (status, code, and whatever else the row reads) must equal
 * the row's expectation exactly, so a row asserts every field it carries and nothing it does
 * not. Afterwards the gateway must still be healthy and hold no upstream sockets open.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AskStreamDocument } from "../../operations/generated/graphql.ts";
import type { FaultConfig } from "../../src/local/server.ts";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { sseSubscribe } from "../helpers/streams.ts";

let harness: GatewayHarness;
let passThrough: GatewayHarness;
/** Stands for "another host": a redirect must never bring our token here. */
let elsewhere: Server;
const elsewhereHits: { authorization?: string }[] = [];

beforeAll(async () => {
  elsewhere = createServer((req, res) => {
    elsewhereHits.push({ authorization: req.headers.authorization });
    res.end("{}");
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
  harness = await startGateway(
    { streamDelayMs: 1 },
    {
      RATE_LIMIT_PER_MINUTE: "100000",
      MAX_BODY_BYTES: "65536",
      WS_MAX_PAYLOAD_BYTES: "65536",
      CORS_ORIGINS: "https://app.example",
      UPSTREAM_HEADERS_TIMEOUT_MS: "300",
      UPSTREAM_IDLE_TIMEOUT_MS: "300",
      UPSTREAM_DEADLINE_MS: "3000",
      STREAM_MAX_CHARS: "5000",
    },
  );
  passThrough = await startGateway({}, { PASS_THROUGH_CREDENTIALS: "true" });
});

afterAll(async () => {
  await harness.close();
  await passThrough.close();
  await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
});

interface Outcome {
  status?: number;
  /** The first error's `extensions.code`; `undefined` when the answer has no error. */
  code?: string;
  /** Anything else the row wants to check (a header, upstream requests…). */
  extra?: unknown;
}

/** The status and first error code of a GraphQL response. */
async function outcomeOf(response: Response): Promise<{ status: number; code?: string }> {
  const text = await response.text();
  let code: string | undefined;
  try {
    code = JSON.parse(text).errors?.[0]?.extensions?.code;
  } catch {
    code = undefined;
  }
  return { status: response.status, code };
}

const post = (
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
  target = harness,
) => fetch(target.gateway.graphqlUrl, { method: "POST", headers, body }).then(outcomeOf);

const gql = (query: string, variables?: unknown) => post(JSON.stringify({ query, variables }));

const ask = (input: Record<string, unknown>) =>
  gql("mutation($input: ChatCompletionInput!) { chatCompletion(input: $input) { content } }", {
    input: {
      instanceIds: ["gateway-docs"],
      messages: [{ role: "USER", content: "what is a chunk?" }],
      ...input,
    },
  });

const withFault = async <T>(fault: FaultConfig, run: () => Promise<T>): Promise<T> => {
  harness.local.setFaults(fault);
  try {
    return await run();
  } finally {
    harness.local.setFaults(undefined);
  }
};

/** The last event of a streamed answer, under a given upstream fault. */
async function streamOutcome(fault: FaultConfig): Promise<Outcome> {
  return withFault(fault, async () => {
    let last: { __typename: string; code?: string } | undefined;
    let code: string | undefined;
    const input = {
      instanceIds: ["gateway-docs"],
      messages: [{ role: "USER" as const, content: "how do streams work?" }],
    };
    for await (const result of sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, {
      input,
    })) {
      if (result.errors) code = result.errors[0]?.extensions?.code as string;
      else last = result.data!.chatCompletionStream as typeof last;
    }
    return {
      code:
        code ?? (last?.__typename === "ChatCompletionFailedEvent" ? last.code : last?.__typename),
    };
  });
}

/** Seven levels: namespace › instances › nodes › namespace › instances › nodes › instanceId. */
const DEPTH_SEVEN = `{ namespace(name: "default") { instances(first: 1) { nodes {
  namespace { instances(first: 1) { nodes { instanceId } } } } } } }`;

const cases: [string, () => Promise<Outcome>, Outcome][] = [
  // Operation limits, each exceeded by one.
  ["depth 7", () => gql(DEPTH_SEVEN), { status: 400, code: "OPERATION_LIMIT_EXCEEDED" }],
  [
    "16 aliases",
    () =>
      gql(
        `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: namespace(name: "default") { name }`).join(" ")} }`,
      ),
    { status: 400, code: "OPERATION_LIMIT_EXCEEDED" },
  ],
  [
    "51 directives",
    () => gql(`{ __typename ${"@include(if: true) ".repeat(51)} }`),
    { status: 400, code: "OPERATION_LIMIT_EXCEEDED" },
  ],
  [
    "1001 tokens",
    () => gql(`{ ${"__typename ".repeat(999)} }`),
    { status: 400, code: "OPERATION_LIMIT_EXCEEDED" },
  ],
  [
    "depth hidden in fragments",
    () =>
      gql(
        `{ namespace(name: "default") { ...A } }
         fragment A on Namespace { instances(first: 1) { nodes { ...B } } }
         fragment B on Instance { namespace { instances(first: 1) { nodes { namespace { name } } } } }`,
      ),
    { status: 400, code: "OPERATION_LIMIT_EXCEEDED" },
  ],
  [
    "fragment cycle",
    () =>
      gql(
        `{ namespace(name: "default") { ...A } } fragment A on Namespace { ...B } fragment B on Namespace { ...A }`,
      ),
    { status: 200, code: "GRAPHQL_VALIDATION_FAILED" },
  ],
  [
    "hundreds of aliases of an expensive field",
    () =>
      gql(
        `{ ${Array.from(
          { length: 600 },
          (_, i) =>
            `a${i}: search(input: { instanceIds: ["gateway-docs"], query: "q" }) { searchQuery }`,
        ).join(" ")} }`,
      ),
    { status: 400, code: "OPERATION_LIMIT_EXCEEDED" },
  ],
  // HTTP transport.
  [
    "oversize body",
    () => post(JSON.stringify({ query: "{ __typename }", pad: "x".repeat(70_000) })),
    { status: 413, code: "REQUEST_ENTITY_TOO_LARGE" },
  ],
  [
    "GET mutation",
    () => {
      const url = `${harness.gateway.graphqlUrl}?query=${encodeURIComponent("mutation { __typename }")}`;
      return fetch(url, { headers: { accept: "application/json" } }).then(outcomeOf);
    },
    { status: 405, code: "BAD_REQUEST" },
  ],
  [
    "text/plain POST without the CSRF header",
    () => post(JSON.stringify({ query: "{ __typename }" }), { "content-type": "text/plain" }),
    { status: 403, code: "CSRF_PREVENTED" },
  ],
  [
    "a foreign Origin",
    async () => {
      const response = await fetch(harness.gateway.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", origin: "https://evil.example" },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      // Served (a foreign page cannot read it): the point is the missing CORS grant.
      return {
        ...(await outcomeOf(response)),
        extra: response.headers.get("access-control-allow-origin"),
      };
    },
    { status: 200, code: undefined, extra: null },
  ],
  // Names and tokens.
  [
    "hostile namespace name",
    () => ask({ namespace: "../../accounts" }),
    { status: 200, code: "BAD_USER_INPUT" },
  ],
  [
    "hostile instance id",
    () => ask({ instanceIds: ["a/../b"] }),
    { status: 200, code: "BAD_USER_INPUT" },
  ],
  [
    // fetch refuses to send a raw CR/LF (pass-through.test.ts sends one over a raw socket); a
    // token that smuggles a second value is the same attack one layer up.
    "pass-through token carrying two values",
    () =>
      post(
        JSON.stringify({ query: "{ namespaces { totalCount } }" }),
        { "content-type": "application/json", "x-cloudflare-api-token": "token-one,token-two" },
        passThrough,
      ),
    { status: 401, code: "UNAUTHENTICATED" },
  ],
  // Upstream faults.
  [
    // The redirect is refused, so the other host never sees the gateway's token.
    "upstream 302 to another host",
    async () => {
      elsewhereHits.length = 0;
      const outcome = await withFault(
        {
          redirectTo: `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/steal`,
          match: "/chat/completions",
        },
        () => ask({}),
      );
      return { ...outcome, extra: [...elsewhereHits] };
    },
    { status: 200, code: "UPSTREAM_BAD_RESPONSE", extra: [] },
  ],
  [
    "upstream stalls before headers",
    () => withFault({ stallBeforeHeadersMs: 10_000, match: "/chat/completions" }, () => ask({})),
    { status: 200, code: "UPSTREAM_TIMEOUT" },
  ],
  [
    "upstream stalls mid-stream",
    () => streamOutcome({ stallMidStreamAfterDeltas: 2, match: "/chat/completions" }),
    { code: "UPSTREAM_TIMEOUT" },
  ],
  [
    "malformed SSE",
    () => streamOutcome({ malformedSse: true, match: "/chat/completions" }),
    { code: "UPSTREAM_BAD_RESPONSE" },
  ],
  [
    "an endless stream",
    () => streamOutcome({ endlessStream: true, match: "/chat/completions" }),
    { code: "STREAM_LIMIT_EXCEEDED" },
  ],
  [
    "Retry-After huge",
    async () => {
      harness.local.resetRequests();
      const outcome = await withFault(
        { errorStatus: 429, retryAfter: "86400", match: "/namespaces" },
        () => gql("{ namespaces { totalCount } }"),
      );
      return { ...outcome, extra: harness.local.requests.length };
    },
    { status: 200, code: "RATE_LIMITED", extra: 1 },
  ],
  [
    "Retry-After in the past",
    async () => {
      harness.local.resetRequests();
      const outcome = await withFault(
        {
          errorStatus: 503,
          retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT",
          match: "/namespaces",
          times: 1,
        },
        () => gql("{ namespaces { totalCount } }"),
      );
      return { ...outcome, extra: harness.local.requests.length };
    },
    { status: 200, code: undefined, extra: 2 },
  ],
];

describe("bad input and upstream faults", () => {
  it.each(cases)("%s", async (_name, send, expected) => {
    expect(await send()).toStrictEqual(expected);
  });

  it("leave the gateway healthy with no upstream sockets open", async () => {
    const health = await fetch(`${harness.gateway.url}/healthz`);
    expect(health.status).toBe(200);
    expect((await gql('{ namespace(name: "default") { name } }')).code).toBeUndefined();
    // Idle keep-alive sockets close after the pool's keep-alive timeout (4 s).
    await vi.waitFor(() => expect(harness.local.openConnections()).toBe(0), {
      timeout: 8_000,
      interval: 100,
    });
  });
});
