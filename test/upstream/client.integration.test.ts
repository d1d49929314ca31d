/**
 * The client against the real embedded local AI Search over real sockets: the default corpus,
 * then every fault the local server can inject on cue.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { AiSearchClient } from "../../src/upstream/client.ts";
import {
  UpstreamAbortedError,
  UpstreamBadRequestError,
  type UpstreamError,
  UpstreamNotFoundError,
  UpstreamProtocolError,
  UpstreamRateLimitedError,
  UpstreamRedirectError,
  UpstreamServerError,
  UpstreamTimeoutError,
  UpstreamUnauthenticatedError,
} from "../../src/upstream/errors.ts";
import type { AiSearchClientOptions } from "../../src/upstream/options.ts";
import type { ChatCompletionRequest, StreamEvent } from "../../src/upstream/types.ts";
import { type Stub, startStub } from "./stub-server.ts";

const TOKEN = "integration-token-0123";
const INSTANCES = ["ai-search-concepts", "frontend-recipes", "gateway-docs"];
const CHAT = "/chat/completions";

let local: LocalAiSearch;
let clients: AiSearchClient[] = [];

beforeAll(async () => {
  local = await startLocalAiSearch({ streamDelayMs: 0, apiToken: TOKEN });
});
afterAll(async () => {
  await local.close();
});
afterEach(async () => {
  local.setFaults(undefined);
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
  local.resetRequests();
});

/** A client with short timeouts and a recording, instant backoff sleep. */
function client(options: Partial<AiSearchClientOptions> = {}) {
  const sleeps: number[] = [];
  const c = new AiSearchClient({
    baseUrl: local.baseUrl,
    accountId: "test-account",
    credentials: { kind: "token", token: TOKEN },
    ...options,
    timeouts: { headersMs: 200, idleMs: 200, deadlineMs: 5_000, ...options.timeouts },
    retry: { sleep: async (ms) => void sleeps.push(ms), ...options.retry },
  });
  clients.push(c);
  return { c, sleeps };
}

const question = (instanceIds?: string[]): ChatCompletionRequest => ({
  messages: [
    { role: "user", content: "How does hybrid retrieval merge keyword and vector results?" },
  ],
  ...(instanceIds && { ai_search_options: { instance_ids: instanceIds } }),
});

async function failureOf(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    return error as UpstreamError;
  }
  throw new Error("expected the call to fail");
}

/** Consumes a stream, returning what it yielded and how it ended. */
async function consume(stream: AsyncIterable<StreamEvent>) {
  const events: StreamEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
    return { events, error: undefined };
  } catch (error) {
    return { events, error: error as UpstreamError };
  }
}

const chatRequests = () => local.requests.filter((r) => r.path.endsWith(CHAT));

describe("against the default corpus", () => {
  it("lists and gets namespaces, instances and stats", async () => {
    const { c } = client();
    const namespaces = await c.listNamespaces();
    expect(namespaces.items.map((n) => n.name)).toContain("default");
    expect((await c.getNamespace("default")).name).toBe("default");

    const instances = await c.listInstances("default", { perPage: 100 });
    expect(instances.items.map((i) => i.id).sort()).toEqual(INSTANCES);
    const instance = await c.getInstance("default", "gateway-docs");
    expect(instance.id).toBe("gateway-docs");
    const stats = await c.getInstanceStats("default", "gateway-docs");
    expect(stats.completed).toBeGreaterThan(0);

    await expect(c.getInstance("default", "no-such-instance")).rejects.toBeInstanceOf(
      UpstreamNotFoundError,
    );
  });

  it("walks every page of a listing, one request per page", async () => {
    const { c } = client();
    const ids: string[] = [];
    let page = 1;
    for (;;) {
      const result = await c.listInstances("default", {
        page,
        perPage: 1,
        orderBy: "created_at",
        orderByDirection: "asc",
      });
      ids.push(...result.items.map((i) => i.id));
      if (result.items.length < result.perPage || ids.length >= (result.totalCount ?? Infinity))
        break;
      page++;
    }
    expect(ids.sort()).toEqual(INSTANCES);
    expect(local.requests).toHaveLength(page);
    expect(local.requests[0]?.query).toBe(
      "page=1&per_page=1&order_by=created_at&order_by_direction=asc",
    );
  });

  it("searches a namespace and an instance", async () => {
    const { c } = client();
    const many = await c.searchNamespace("default", {
      query: "hybrid retrieval",
      ai_search_options: { instance_ids: INSTANCES },
    });
    expect(many.chunks.length).toBeGreaterThan(0);
    expect(many.chunks.every((chunk) => INSTANCES.includes(chunk.instance_id))).toBe(true);
    const one = await c.searchInstance("default", "ai-search-concepts", { query: "chunking" });
    expect(one.chunks.length).toBeGreaterThan(0);
    expect(new Set(one.chunks.map((chunk) => chunk.instance_id))).toEqual(
      new Set(["ai-search-concepts"]),
    );
  });

  it("JSON and streamed completions give the same text, chunks and per-instance errors", async () => {
    const { c } = client();
    const body = question(["ai-search-concepts", "gone-instance"]);
    const json = await c.chatCompletions("default", body);
    const { events, error } = await consume(await c.streamChatCompletions("default", body));
    expect(error).toBeUndefined();

    const text = events.map((e) => (e.type === "delta" ? e.content : "")).join("");
    expect(text.length).toBeGreaterThan(0);
    expect(text).toBe(json.choices[0]?.message.content);

    const first = events[0];
    expect(first?.type).toBe("chunks");
    if (first?.type !== "chunks") throw new Error("no chunks event");
    expect(first.chunks.map((chunk) => chunk.id)).toEqual(json.chunks.map((chunk) => chunk.id));
    expect(json.errors?.map((e) => e.instance_id)).toEqual(["gone-instance"]);
    expect(first.errors?.map((e) => e.instance_id)).toEqual(["gone-instance"]);

    const deltas = events.filter((e) => e.type === "delta");
    expect(deltas.map((d) => d.sequence)).toEqual(deltas.map((_, i) => i));
    expect(deltas.at(-1)?.finishReason).toBe("stop");
    expect(events.at(-1)).toEqual({ type: "done" });
  });

  it("an instance-level stream works too", async () => {
    const { c } = client();
    const stream = await c.streamInstanceChatCompletions("default", "gateway-docs", question());
    const { events, error } = await consume(stream);
    expect(error).toBeUndefined();
    expect(events.at(-1)).toEqual({ type: "done" });
  });

  it("uses a binding's credentials, and the upstream rejects wrong ones", async () => {
    const { c } = client({ credentials: undefined });
    await expect(
      c.withCall({ credentials: { kind: "token", token: TOKEN } }).getNamespace("default"),
    ).resolves.toMatchObject({ name: "default" });
    const error = await failureOf(
      c.withCall({ credentials: { kind: "token", token: "wrong-token" } }).getNamespace("default"),
    );
    expect(error).toBeInstanceOf(UpstreamUnauthenticatedError);
    expect(JSON.stringify(error)).not.toContain("wrong-token");
  });
});

describe("faults", () => {
  it("latency beyond the deadline → deadline timeout, and the socket is closed", async () => {
    local.setFaults({ latencyMs: 60_000 });
    const { c, sleeps } = client({ timeouts: { deadlineMs: 150 } });
    const error = await failureOf(c.getNamespace("default"));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as UpstreamTimeoutError).phase).toBe("deadline");
    expect(sleeps).toEqual([]);
    await local.waitForAbort("/namespaces/default");
  });

  it("latency within the deadline is just slow", async () => {
    local.setFaults({ latencyMs: 50 });
    const { c } = client({ timeouts: { deadlineMs: 5_000 } });
    await expect(c.getNamespace("default")).resolves.toMatchObject({ name: "default" });
  });

  it("5xx is retried up to the cap for reads, never for completions", async () => {
    local.setFaults({ errorStatus: 503 });
    const { c, sleeps } = client({ retry: { maxRetries: 2 } });
    const read = await failureOf(c.listInstances("default"));
    expect(read).toBeInstanceOf(UpstreamServerError);
    expect(read.attempts).toBe(3);
    expect(local.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);

    local.resetRequests();
    const chat = await failureOf(c.chatCompletions("default", question(INSTANCES)));
    expect(chat).toBeInstanceOf(UpstreamServerError);
    const stream = await failureOf(c.streamChatCompletions("default", question(INSTANCES)));
    expect(stream).toBeInstanceOf(UpstreamServerError);
    expect(chatRequests()).toHaveLength(2);
  });

  it("4xx is not retried", async () => {
    local.setFaults({ errorStatus: 400 });
    const { c, sleeps } = client();
    expect(await failureOf(c.getNamespace("default"))).toBeInstanceOf(UpstreamBadRequestError);
    expect(local.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("429 honours Retry-After and stops at the cap", async () => {
    local.setFaults({ errorStatus: 429, retryAfter: "2" });
    const { c, sleeps } = client({ retry: { maxRetries: 3 } });
    const error = await failureOf(
      c.searchNamespace("default", { query: "q", ai_search_options: { instance_ids: INSTANCES } }),
    );
    expect(error).toBeInstanceOf(UpstreamRateLimitedError);
    expect((error as UpstreamRateLimitedError).retryAfterMs).toBe(2000);
    expect(sleeps).toEqual([2000, 2000, 2000]);
    expect(local.requests).toHaveLength(4);
  });

  it("429 on a completion is retried (after retry-after-ms) and then succeeds", async () => {
    local.setFaults({ errorStatus: 429, retryAfterMs: 30, times: 1 });
    const { c, sleeps } = client();
    const stream = await c.streamChatCompletions("default", question(INSTANCES));
    expect((await consume(stream)).events.at(-1)).toEqual({ type: "done" });
    expect(sleeps).toEqual([30]);
    expect(chatRequests().map((r) => r.status)).toEqual([429, 200]);
  });

  it("a Retry-After beyond maxRetryAfterMs fails at once", async () => {
    local.setFaults({ errorStatus: 429, retryAfter: "120" });
    const { c, sleeps } = client();
    const error = await failureOf(c.getNamespace("default"));
    expect((error as UpstreamRateLimitedError).retryAfterMs).toBe(120_000);
    expect(sleeps).toEqual([]);
    expect(local.requests).toHaveLength(1);
  });

  it("a stall before headers → headers timeout; a read retries past it, a stream does not", async () => {
    local.setFaults({ stallBeforeHeadersMs: Number.POSITIVE_INFINITY, times: 1 });
    const { c, sleeps } = client();
    await expect(c.getNamespace("default")).resolves.toMatchObject({ name: "default" });
    expect(sleeps).toHaveLength(1);
    expect(local.requests.map((r) => r.aborted)).toEqual([true, false]);

    local.setFaults({ stallBeforeHeadersMs: Number.POSITIVE_INFINITY, match: CHAT });
    const error = await failureOf(c.streamChatCompletions("default", question(INSTANCES)));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as UpstreamTimeoutError).phase).toBe("headers");
    expect(chatRequests()).toHaveLength(1);
    await local.waitForAbort(CHAT);
  });

  it("a stall mid-stream → idle timeout after the deltas that came; never retried", async () => {
    local.setFaults({ stallMidStreamAfterDeltas: 2 });
    const { c, sleeps } = client();
    const { events, error } = await consume(
      await c.streamChatCompletions("default", question(INSTANCES)),
    );
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as UpstreamTimeoutError).phase).toBe("idle");
    expect(events.map((e) => e.type)).toEqual(["chunks", "delta", "delta"]);
    expect(chatRequests()).toHaveLength(1);
    expect(sleeps).toEqual([]);
    await local.waitForAbort(CHAT);
  });

  it("a malformed SSE frame → protocol error, and the upstream is closed", async () => {
    local.setFaults({ malformedSse: true });
    const { c } = client();
    const { events, error } = await consume(
      await c.streamChatCompletions("default", question(INSTANCES)),
    );
    expect(error).toBeInstanceOf(UpstreamProtocolError);
    expect((error as UpstreamProtocolError).reason).toBe("malformed-sse");
    expect(events.map((e) => e.type)).toEqual(["chunks"]);
    expect(chatRequests()).toHaveLength(1);
  });

  it("a stream that ends without [DONE] → protocol error after all deltas", async () => {
    local.setFaults({ endWithoutDone: true });
    const { c } = client();
    const { events, error } = await consume(
      await c.streamChatCompletions("default", question(INSTANCES)),
    );
    expect((error as UpstreamProtocolError).reason).toBe("missing-done");
    expect(events.filter((e) => e.type === "delta").length).toBeGreaterThan(0);
    expect(events.some((e) => e.type === "done")).toBe(false);
    expect(chatRequests()).toHaveLength(1);
  });

  it("a redirect is never followed: typed error, and the target sees nothing", async () => {
    const elsewhere: Stub = await startStub((_req, res) => {
      res.end("{}");
    });
    try {
      local.setFaults({ redirectTo: `${elsewhere.baseUrl}/steal` });
      const { c, sleeps } = client();
      expect(await failureOf(c.getNamespace("default"))).toBeInstanceOf(UpstreamRedirectError);
      expect(
        await failureOf(c.streamChatCompletions("default", question(INSTANCES))),
      ).toBeInstanceOf(UpstreamRedirectError);
      expect(elsewhere.requests).toHaveLength(0);
      expect(local.requests).toHaveLength(2);
      expect(sleeps).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });
});

describe("cancellation", () => {
  it("aborting mid-stream closes the upstream connection", async () => {
    local.setFaults({ stallMidStreamAfterDeltas: 1 });
    const { c } = client({ timeouts: { idleMs: 60_000 } });
    const controller = new AbortController();
    const stream = await c.streamChatCompletions("default", question(INSTANCES), {
      signal: controller.signal,
    });
    const aborted = local.waitForAbort(CHAT);
    const { events, error } = await consume(
      (async function* () {
        for await (const event of stream) {
          yield event;
          if (event.type === "delta") controller.abort();
        }
      })(),
    );
    expect(error).toBeInstanceOf(UpstreamAbortedError);
    expect(events.map((e) => e.type)).toEqual(["chunks", "delta"]);
    // The server saw its client close before the response finished. (Counting open sockets
    // would not tell: undici eagerly opens a spare idle connection after an aborted request.)
    expect((await aborted).aborted).toBe(true);
  });

  it("breaking out of for-await closes the upstream connection", async () => {
    local.setFaults({ stallMidStreamAfterDeltas: 1 });
    const { c } = client({ timeouts: { idleMs: 60_000 } });
    const stream = await c.streamChatCompletions("default", question(INSTANCES));
    const aborted = local.waitForAbort(CHAT);
    for await (const event of stream) {
      if (event.type === "delta") break;
    }
    expect((await aborted).path).toContain(CHAT);
  });

  it("aborting a JSON call waiting on a slow upstream closes it", async () => {
    local.setFaults({ latencyMs: 60_000 });
    const { c } = client();
    const controller = new AbortController();
    const pending = failureOf(
      c.chatCompletions("default", question(INSTANCES), { signal: controller.signal }),
    );
    await expect.poll(() => local.requests.length).toBe(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(UpstreamAbortedError);
    await local.waitForAbort(CHAT);
  });
});
