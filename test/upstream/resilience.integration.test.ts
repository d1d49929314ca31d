/**
 * Coalescing of identical reads and the circuit breaker, against the real local AI Search.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { UpstreamCircuitOpenError } from "../../src/upstream/circuit.ts";
import { AiSearchClient } from "../../src/upstream/client.ts";
import { UpstreamAbortedError, UpstreamServerError } from "../../src/upstream/errors.ts";
import type { AiSearchClientOptions } from "../../src/upstream/options.ts";

let local: LocalAiSearch;
const clients: AiSearchClient[] = [];

beforeAll(async () => {
  // No apiToken: the local server then accepts any credentials, so two callers can differ.
  local = await startLocalAiSearch({ streamDelayMs: 0 });
});
afterAll(() => local.close());
afterEach(async () => {
  local.setFaults(undefined);
  await Promise.all(clients.splice(0).map((c) => c.close()));
  local.resetRequests();
});

function client(options: Partial<AiSearchClientOptions> = {}) {
  const c = new AiSearchClient({
    baseUrl: local.baseUrl,
    accountId: "test-account",
    credentials: { kind: "token", token: "caller-a" },
    retry: { maxRetries: 0 },
    ...options,
  });
  clients.push(c);
  return c;
}

const upstreamCalls = (fragment: string) =>
  local.requests.filter((r) => r.path.includes("/ai-search/") && r.path.endsWith(fragment));

describe("identical in-flight reads", () => {
  it("share one upstream request and one answer", async () => {
    local.setFaults({ latencyMs: 100 });
    const c = client();
    const pages = await Promise.all(Array.from({ length: 5 }, () => c.listNamespaces()));
    expect(new Set(pages.map((p) => JSON.stringify(p))).size).toBe(1);
    expect(upstreamCalls("/namespaces")).toHaveLength(1);
  });

  it("are shared even when the callers' request ids differ", async () => {
    local.setFaults({ latencyMs: 100 });
    const c = client();
    await Promise.all([
      c.withCall({ requestId: "first" }).listNamespaces(),
      c.withCall({ requestId: "second" }).listNamespaces(),
    ]);
    expect(upstreamCalls("/namespaces")).toHaveLength(1);
  });

  it("are never shared across different credentials", async () => {
    local.setFaults({ latencyMs: 100 });
    const c = client();
    await Promise.all([
      c.withCall({ credentials: { kind: "token", token: "caller-a" } }).listNamespaces(),
      c.withCall({ credentials: { kind: "token", token: "caller-b" } }).listNamespaces(),
      c.withCall({ credentials: { kind: "token", token: "caller-b" } }).listNamespaces(),
    ]);
    expect(upstreamCalls("/namespaces")).toHaveLength(2);
  });

  it("share searches with the same body but not different bodies", async () => {
    local.setFaults({ latencyMs: 100 });
    const c = client();
    const body = (query: string) => ({
      query,
      ai_search_options: { instance_ids: ["gateway-docs"] },
    });
    await Promise.all([
      c.searchNamespace("default", body("stream")),
      c.searchNamespace("default", body("stream")),
      c.searchNamespace("default", body("pagination")),
    ]);
    expect(upstreamCalls("/search")).toHaveLength(2);
  });

  it("never share chat completions, which are not reads", async () => {
    local.setFaults({ latencyMs: 50 });
    const c = client();
    const question = {
      messages: [{ role: "user" as const, content: "What is a chunk?" }],
      ai_search_options: { instance_ids: ["ai-search-concepts"] },
    };
    await Promise.all([
      c.chatCompletions("default", question),
      c.chatCompletions("default", question),
    ]);
    expect(upstreamCalls("/chat/completions")).toHaveLength(2);
  });

  it("keep answering the others when one caller aborts, and abort when all have", async () => {
    local.setFaults({ latencyMs: 150 });
    const c = client();
    const quitter = new AbortController();
    const staying = c.listInstances("default");
    const leaving = c.listInstances("default", {}, { signal: quitter.signal });
    quitter.abort();
    await expect(leaving).rejects.toBeInstanceOf(UpstreamAbortedError);
    expect((await staying).items.length).toBeGreaterThan(0);
    expect(upstreamCalls("/instances")).toHaveLength(1);

    const everyone = new AbortController();
    const aborted = local.waitForAbort("/instances", 5_000);
    const a = c.listInstances("default", {}, { signal: everyone.signal });
    const b = c.listInstances("default", {}, { signal: everyone.signal });
    // Abort only once the shared request is at the server, so there is a socket to close.
    await vi.waitFor(() => expect(upstreamCalls("/instances")).toHaveLength(2));
    everyone.abort();
    await expect(a).rejects.toBeInstanceOf(UpstreamAbortedError);
    await expect(b).rejects.toBeInstanceOf(UpstreamAbortedError);
    expect((await aborted).aborted).toBe(true);
  });
});

describe("the circuit breaker", () => {
  it("opens after repeated upstream failures, fails fast, then closes after a good trial", async () => {
    const states: string[] = [];
    const c = client({
      coalesceReads: false,
      circuit: { minimumCalls: 3, openMs: 200, onStateChange: (s) => states.push(s) },
    });
    local.setFaults({ errorStatus: 503 });
    for (let i = 0; i < 3; i++) {
      await expect(c.listNamespaces()).rejects.toBeInstanceOf(UpstreamServerError);
    }
    expect(c.circuitState).toBe("open");
    local.resetRequests();
    await expect(c.listNamespaces()).rejects.toBeInstanceOf(UpstreamCircuitOpenError);
    expect(local.requests).toHaveLength(0);

    local.setFaults(undefined);
    // After openMs the breaker lets one trial call through.
    await vi.waitFor(() => expect(c.circuitState).toBe("half-open"));
    await c.listNamespaces();
    expect(c.circuitState).toBe("closed");
    expect(states).toEqual(["open", "half-open", "closed"]);
  });

  it("is not tripped by answers that say nothing about upstream health", async () => {
    const c = client({ coalesceReads: false, circuit: { minimumCalls: 2 } });
    for (let i = 0; i < 4; i++) {
      await expect(c.getNamespace("no-such-namespace")).rejects.toMatchObject({ status: 404 });
    }
    local.setFaults({ errorStatus: 429, retryAfter: "0" });
    for (let i = 0; i < 4; i++)
      await expect(c.listNamespaces()).rejects.toMatchObject({ status: 429 });
    expect(c.circuitState).toBe("closed");
  });
});
