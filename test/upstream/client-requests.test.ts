/**
 * Client requests and responses against a scripted stub server: headers, credentials, envelopes,
 * error mapping, caps, redirects and the bodies the real local AI Search cannot produce on cue
 * (oversized, malformed). Retries, cancellation and deadlines: client-retries.test.ts; the local
 * AI Search itself is exercised in client.integration.test.ts.
 */
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { AiSearchClient } from "../../src/upstream/client.ts";
import {
  InvalidArgumentError,
  InvalidCredentialsError,
  UpstreamApiError,
  UpstreamNotFoundError,
  UpstreamProtocolError,
  UpstreamRedirectError,
  UpstreamUnauthenticatedError,
} from "../../src/upstream/errors.ts";
import { completion, messages, rejection, TOKEN, useStubClients } from "./stub-client.ts";
import { envelope, failure, sendJson } from "./stub-server.ts";

const { stub, client } = useStubClients();

describe("requests", () => {
  it("sends auth, user agent, accept, request id, and a JSON body", async () => {
    const s = await stub((_req, res) => sendJson(res, 200, completion));
    const { c } = client(s.baseUrl);
    await c
      .withCall({ requestId: "req-42" })
      .chatCompletions("default", { messages, stream: true });
    const [req] = s.requests;
    expect(req?.method).toBe("POST");
    expect(req?.url).toBe("/client/v4/accounts/acct/ai-search/namespaces/default/chat/completions");
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.headers["x-request-id"]).toBe("req-42");
    expect(req?.headers["user-agent"]).toMatch(/^aisearch-graphql-gateway\//);
    expect(req?.headers.accept).toBe("application/json");
    expect(req?.headers["content-type"]).toBe("application/json");
    // `stream` is stripped from a JSON completion, whatever the caller passed.
    expect(JSON.parse(req?.body ?? "")).toEqual({ messages });
  });

  it("uses a binding's credentials over the client's, including the legacy key pair", async () => {
    const s = await stub((_req, res) => sendJson(res, 200, envelope({ name: "default" })));
    const { c } = client(s.baseUrl);
    await c
      .withCall({ credentials: { kind: "token", token: "caller-token" } })
      .getNamespace("default");
    const legacy = c.withCall({ credentials: { kind: "key", email: "a@b.co", key: "k1" } });
    await legacy.getNamespace("default");
    expect(s.requests[0]?.headers.authorization).toBe("Bearer caller-token");
    expect(s.requests[1]?.headers.authorization).toBeUndefined();
    expect(s.requests[1]?.headers["x-auth-email"]).toBe("a@b.co");
    expect(s.requests[1]?.headers["x-auth-key"]).toBe("k1");
  });

  it("refuses to send without credentials or with a binding's malformed ones", async () => {
    const s = await stub((_req, res) => sendJson(res, 200, envelope({ name: "default" })));
    const { c } = client(s.baseUrl, { credentials: undefined });
    const missing = await rejection(c.getNamespace("default"));
    expect(missing).toBeInstanceOf(InvalidCredentialsError);
    const malformed = await rejection(
      c
        .withCall({ credentials: { kind: "token", token: `${TOKEN}\r\nx: y` } })
        .getNamespace("default"),
    );
    expect(malformed).toBeInstanceOf(InvalidCredentialsError);
    expect(inspect(malformed)).not.toContain(TOKEN);
    expect(s.requests).toHaveLength(0);
  });

  it("keeps credentials out of the client's inspection and out of HTTP errors", async () => {
    const s = await stub((_req, res) =>
      sendJson(res, 401, failure(10000, "Authentication error for token")),
    );
    const { c } = client(s.baseUrl);
    expect(inspect(c, { depth: 5, showHidden: true })).not.toContain(TOKEN);
    const error = await rejection(c.getNamespace("default"));
    expect(error).toBeInstanceOf(UpstreamUnauthenticatedError);
    const rendered = `${inspect(error, { depth: 10, showHidden: true })} ${JSON.stringify(error)}`;
    expect(rendered).not.toContain(TOKEN);
  });

  it("refuses a base URL that could carry credentials or a query into every request", () => {
    for (const baseUrl of [
      "ftp://example.com/client/v4",
      "https://user:pass@example.com/client/v4",
      "https://example.com/client/v4?x=1",
      "https://example.com/client/v4#frag",
      "not a url",
    ]) {
      expect(() => new AiSearchClient({ baseUrl, accountId: "acct" }), baseUrl).toThrow(
        InvalidArgumentError,
      );
    }
  });
});

describe("responses", () => {
  it("unwraps list envelopes into pages", async () => {
    const s = await stub((req, res) => {
      if (req.url.includes("page=2")) {
        sendJson(
          res,
          200,
          envelope([{ name: "b" }], {
            result_info: { page: 2, per_page: 1, count: 1, total_count: 2 },
          }),
        );
      } else {
        sendJson(res, 200, envelope([{ name: "a" }]));
      }
    });
    const { c } = client(s.baseUrl);
    expect(await c.listNamespaces({ page: 2, perPage: 1 })).toEqual({
      items: [{ name: "b" }],
      page: 2,
      perPage: 1,
      count: 1,
      totalCount: 2,
    });
    expect(await c.listNamespaces()).toEqual({
      items: [{ name: "a" }],
      page: 1,
      perPage: 1,
      count: 1,
    });
    expect(s.requests[0]?.url).toMatch(/\/namespaces\?page=2&per_page=1$/);
  });

  it("turns success:false on a 2xx into UpstreamApiError with the Cloudflare errors", async () => {
    const s = await stub((_req, res) => sendJson(res, 200, failure(7003, "No route for that URI")));
    const { c } = client(s.baseUrl);
    const error = await rejection(c.getNamespace("default"));
    expect(error).toBeInstanceOf(UpstreamApiError);
    expect((error as UpstreamApiError).cloudflareErrors).toEqual([
      { code: 7003, message: "No route for that URI" },
    ]);
    expect(error.message).not.toContain("route");
  });

  it("maps error statuses, keeping Cloudflare errors off the message", async () => {
    const s = await stub((_req, res) =>
      sendJson(res, 404, failure(1000, "namespace secret-ns not found")),
    );
    const { c } = client(s.baseUrl);
    const error = await rejection(c.getInstance("default", "docs"));
    expect(error).toBeInstanceOf(UpstreamNotFoundError);
    expect(error.status).toBe(404);
    expect(error.operation).toBe("getInstance");
    expect(error.attempts).toBe(1);
    expect((error as UpstreamNotFoundError).cloudflareErrors[0]?.code).toBe(1000);
    expect(error.message).not.toContain("secret-ns");
  });

  it.each([
    ["malformed JSON", "{not json", "malformed-json"],
    ["JSON that is not an object", "[1,2]", "unexpected-shape"],
    ["an envelope without success", JSON.stringify({ result: {} }), "unexpected-shape"],
    ["a list whose result is not an array", JSON.stringify(envelope({})), "unexpected-shape"],
  ])("rejects %s with UpstreamProtocolError", async (_label, body, reason) => {
    const s = await stub((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    });
    const { c } = client(s.baseUrl);
    const error = await rejection(c.listNamespaces());
    expect(error).toBeInstanceOf(UpstreamProtocolError);
    expect((error as UpstreamProtocolError).reason).toBe(reason);
  });

  it("fills in missing chunks on a completion and rejects one without choices", async () => {
    const s = await stub((_req, res, i) =>
      sendJson(res, 200, i === 0 ? { choices: [] } : { chunks: [] }),
    );
    const { c } = client(s.baseUrl);
    expect(await c.chatCompletions("default", { messages })).toEqual({ choices: [], chunks: [] });
    const error = await rejection(c.chatCompletions("default", { messages }));
    expect((error as UpstreamProtocolError).reason).toBe("unexpected-shape");
  });

  it("stops reading a body over maxJsonBytes, declared or chunked", async () => {
    const big = JSON.stringify(envelope({ name: "x".repeat(4096) }));
    const s = await stub((req, res) => {
      if (req.url.includes("declared")) {
        sendJson(res, 200, JSON.parse(big));
        return;
      }
      // No content-length: the cap must trip while reading, and the rest must never be read.
      res.writeHead(200, { "content-type": "application/json" });
      res.write(big);
      const timer = setInterval(() => res.write(" ".repeat(1024)), 5);
      res.on("close", () => clearInterval(timer));
    });
    const { c } = client(s.baseUrl, { maxJsonBytes: 1024 });
    for (const name of ["declared", "chunked"]) {
      const error = await rejection(c.getNamespace(name));
      expect((error as UpstreamProtocolError).reason, name).toBe("body-too-large");
    }
    await expect.poll(() => s.closedSockets()).toBeGreaterThanOrEqual(1);
  });

  it("never follows a redirect, so the token never reaches the other host", async () => {
    const elsewhere = await stub((_req, res) => sendJson(res, 200, envelope({ name: "default" })));
    const s = await stub((_req, res) => {
      res.writeHead(302, {
        location: `${elsewhere.baseUrl}/accounts/acct/ai-search/namespaces/default`,
      });
      res.end();
    });
    const { c, sleeps } = client(s.baseUrl);
    const error = await rejection(c.getNamespace("default"));
    expect(error).toBeInstanceOf(UpstreamRedirectError);
    expect(error.code).toBe("UPSTREAM_REDIRECT");
    expect(s.requests).toHaveLength(1);
    expect(elsewhere.requests).toHaveLength(0);
    expect(sleeps).toEqual([]);
  });
});
