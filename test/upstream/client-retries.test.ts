/**
 * Client retries, cancellation and deadlines against a scripted stub server, including the
 * failures the real local AI Search cannot produce on cue (refused connections, resets mid-body,
 * servers that never answer). Requests and responses: client-requests.test.ts; the local AI
 * Search itself is exercised in client.integration.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  UpstreamAbortedError,
  UpstreamNetworkError,
  UpstreamRateLimitedError,
  UpstreamServerError,
  UpstreamTimeoutError,
} from "../../src/upstream/errors.ts";
import { completion, messages, rejection, useStubClients } from "./stub-client.ts";
import { envelope, failure, sendJson } from "./stub-server.ts";

const { stub, client, forgetStubs } = useStubClients();

describe("retries", () => {
  it("retries a read on 5xx with jittered backoff, then succeeds", async () => {
    const s = await stub((_req, res, i) =>
      i < 2
        ? sendJson(res, 503, failure(1, "busy"))
        : sendJson(res, 200, envelope({ name: "default" })),
    );
    const { c, sleeps } = client(s.baseUrl);
    expect(await c.getNamespace("default")).toEqual({ name: "default" });
    expect(s.requests).toHaveLength(3);
    expect(sleeps).toEqual([125, 250]);
  });

  it("stops at maxRetries and reports the attempts", async () => {
    const s = await stub((_req, res) => sendJson(res, 500, failure(1, "down")));
    const { c, sleeps } = client(s.baseUrl, { retry: { maxRetries: 3 } });
    const error = await rejection(c.listNamespaces());
    expect(error).toBeInstanceOf(UpstreamServerError);
    expect(error.attempts).toBe(4);
    expect(s.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it("honours retry-after-ms and Retry-After, and x-should-retry: false", async () => {
    const s = await stub((req, res, i) => {
      if (req.url.includes("stop")) {
        sendJson(res, 503, failure(1, "no"), { "x-should-retry": "false" });
      } else if (i === 0) {
        sendJson(res, 429, failure(1, "slow"), { "retry-after-ms": "40" });
      } else if (i === 1) {
        sendJson(res, 503, failure(1, "slow"), { "retry-after": "2" });
      } else {
        sendJson(res, 200, envelope({ name: "default" }));
      }
    });
    const { c, sleeps } = client(s.baseUrl);
    await c.getNamespace("default");
    expect(sleeps).toEqual([40, 2000]);
    const error = await rejection(c.getNamespace("stop"));
    expect(error).toBeInstanceOf(UpstreamServerError);
    expect(sleeps).toHaveLength(2);
  });

  it("fails at once, carrying retryAfterMs, when Retry-After exceeds the cap", async () => {
    const s = await stub((_req, res) =>
      sendJson(res, 429, failure(1, "slow"), { "retry-after": "31" }),
    );
    const { c, sleeps } = client(s.baseUrl);
    const error = await rejection(c.searchNamespace("default", { query: "q" }));
    expect(error).toBeInstanceOf(UpstreamRateLimitedError);
    expect((error as UpstreamRateLimitedError).retryAfterMs).toBe(31_000);
    expect(sleeps).toEqual([]);
    expect(s.requests).toHaveLength(1);
  });

  it("retries a completion on 429 but not on 5xx", async () => {
    const s = await stub((req, res, i) => {
      if (req.url.includes("/namespaces/busy/")) sendJson(res, 502, failure(1, "bad gateway"));
      else if (i === 0) sendJson(res, 429, failure(1, "slow"), { "retry-after": "0" });
      else sendJson(res, 200, completion);
    });
    const { c, sleeps } = client(s.baseUrl);
    expect((await c.chatCompletions("default", { messages })).id).toBe("c1");
    expect(sleeps).toEqual([0]);
    const error = await rejection(c.chatCompletions("busy", { messages }));
    expect(error).toBeInstanceOf(UpstreamServerError);
    expect(s.requests.filter((r) => r.url.includes("busy"))).toHaveLength(1);
  });

  it("retries a completion when the connection is refused (nothing was sent)", async () => {
    const s = await stub(() => {});
    const baseUrl = s.baseUrl;
    await s.close();
    forgetStubs();
    const { c, sleeps } = client(baseUrl);
    const error = await rejection(c.chatCompletions("default", { messages }));
    expect(error).toBeInstanceOf(UpstreamNetworkError);
    expect((error as UpstreamNetworkError).networkCode).toBe("ECONNREFUSED");
    expect((error as UpstreamNetworkError).beforeSend).toBe(true);
    expect(sleeps).toHaveLength(2);
  });

  it("retries a read reset mid-body, but never a completion reset mid-body", async () => {
    const s = await stub((_req, res, i) => {
      if (i === 2) {
        sendJson(res, 200, envelope({ name: "default" }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      res.write('{"success":true,"result":{"na');
      setImmediate(() => res.socket?.resetAndDestroy());
    });
    const { c, sleeps } = client(s.baseUrl);
    const completionError = await rejection(c.chatCompletions("default", { messages }));
    expect(completionError).toBeInstanceOf(UpstreamNetworkError);
    expect((completionError as UpstreamNetworkError).beforeSend).toBe(false);
    expect(sleeps).toEqual([]);
    expect(s.requests).toHaveLength(1);
    expect(await c.getNamespace("default")).toEqual({ name: "default" });
    expect(s.requests).toHaveLength(3);
  });
});

describe("cancellation and deadlines", () => {
  it("sends nothing when the signal is already aborted", async () => {
    const s = await stub((_req, res) => sendJson(res, 200, envelope({ name: "default" })));
    const { c } = client(s.baseUrl);
    const error = await rejection(c.getNamespace("default", { signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(UpstreamAbortedError);
    expect(s.requests).toHaveLength(0);
  });

  it("aborting while waiting for headers closes the socket", async () => {
    const s = await stub(() => {});
    const { c } = client(s.baseUrl);
    const controller = new AbortController();
    const pending = rejection(c.getNamespace("default", { signal: controller.signal }));
    await expect.poll(() => s.requests.length).toBe(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(UpstreamAbortedError);
    await expect.poll(() => s.closedSockets()).toBe(1);
  });

  it("aborting during a backoff sleep ends the call at once", async () => {
    const s = await stub((_req, res) =>
      sendJson(res, 429, failure(1, "slow"), { "retry-after": "25" }),
    );
    // The real sleep: were the abort ignored, this would wait 25 s and hit the test timeout.
    const { c } = client(s.baseUrl, { retry: { sleep: undefined as never } });
    const controller = new AbortController();
    const pending = rejection(c.getNamespace("default", { signal: controller.signal }));
    await expect.poll(() => s.requests.length).toBe(1);
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(UpstreamAbortedError);
    expect(error.attempts).toBe(1);
  });

  it("the deadline bounds a slow JSON call and is not retried", async () => {
    const s = await stub(() => {});
    const { c, sleeps } = client(s.baseUrl, { timeouts: { deadlineMs: 100 } });
    const error = await rejection(c.getNamespace("default"));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as UpstreamTimeoutError).phase).toBe("deadline");
    expect(sleeps).toEqual([]);
    await expect.poll(() => s.closedSockets()).toBe(1);
  });

  it("maps the headers timeout to phase headers and retries reads on it", async () => {
    const s = await stub((_req, res, i) => {
      if (i > 0) sendJson(res, 200, envelope({ name: "default" }));
    });
    const { c, sleeps } = client(s.baseUrl, { timeouts: { headersMs: 100 } });
    expect(await c.getNamespace("default")).toEqual({ name: "default" });
    expect(sleeps).toHaveLength(1);
    const s2 = await stub(() => {});
    const { c: c2 } = client(s2.baseUrl, { timeouts: { headersMs: 100 } });
    const error = await rejection(c2.chatCompletions("default", { messages }));
    expect((error as UpstreamTimeoutError).phase).toBe("headers");
    expect(s2.requests).toHaveLength(1);
  });
});
