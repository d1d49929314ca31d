/**
 * The client's hooks (src/upstream/hooks.ts), over real sockets against the local AI Search:
 * what an observer is told about each attempt, and the headers it may add.
 */
import { describe, expect, it } from "vitest";
import type { AttemptEnd, AttemptObserver, AttemptStart } from "../../src/upstream/hooks.ts";
import type { AiSearchClientOptions } from "../../src/upstream/options.ts";
import type { StreamEvent } from "../../src/upstream/types.ts";
import { useLocalUpstream } from "./local-upstream.ts";

const TOKEN = "hooks-token-0123456789";
const CHAT = "/chat/completions";
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

const upstream = useLocalUpstream(TOKEN);

interface Seen {
  start: AttemptStart;
  end?: AttemptEnd;
  events: StreamEvent["type"][];
  streamEnds: unknown[];
}

/** A client whose hooks record every attempt; `observer` adds to what each attempt returns. */
function observed(
  options: Partial<AiSearchClientOptions> = {},
  observer: Partial<AttemptObserver> = {},
) {
  const seen: Seen[] = [];
  const c = upstream.client({
    retry: { sleep: async () => {} },
    ...options,
    hooks: {
      onAttempt(start) {
        const entry: Seen = { start, events: [], streamEnds: [] };
        seen.push(entry);
        return {
          ...observer,
          onEnd: (end) => {
            entry.end = end;
          },
          onStreamEvent: (event) => void entry.events.push(event.type),
          onStreamEnd: (error) => void entry.streamEnds.push(error),
        };
      },
    },
  });
  return { c, seen };
}

const question = {
  messages: [{ role: "user" as const, content: "how are streams relayed?" }],
  ai_search_options: { instance_ids: ["gateway-docs"] },
};

describe("attempts", () => {
  it("are reported one by one: a read retried twice is three attempts", async () => {
    upstream.local.setFaults({ errorStatus: 503, times: 2, match: "/namespaces/default" });
    const { c, seen } = observed({ retry: { maxRetries: 2, sleep: async () => {} } });
    await c.withCall({ requestId: "retried-1" }).getNamespace("default");
    expect(seen.map(({ start }) => start)).toEqual(
      [0, 1, 2].map((retry) => ({
        endpoint: "getNamespace",
        retry,
        method: "GET",
        requestId: "retried-1",
        streaming: false,
      })),
    );
    expect(seen.map(({ end }) => [end?.status, (end?.error as { code?: string })?.code])).toEqual([
      [503, "UPSTREAM_SERVER_ERROR"],
      [503, "UPSTREAM_SERVER_ERROR"],
      [200, undefined],
    ]);
    for (const { end } of seen) expect(end?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("carry no status when no answer came", async () => {
    const { c, seen } = observed({
      baseUrl: "http://127.0.0.1:9/client/v4",
      retry: { maxRetries: 0 },
    });
    await expect(c.getNamespace("default")).rejects.toMatchObject({
      code: "UPSTREAM_NETWORK_ERROR",
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.end).toMatchObject({
      status: undefined,
      error: { code: "UPSTREAM_NETWORK_ERROR" },
    });
  });

  it("include a call the open circuit refuses, with no status", async () => {
    upstream.local.setFaults({ errorStatus: 503, match: "/namespaces/default" });
    const { c, seen } = observed({
      retry: { maxRetries: 0 },
      circuit: { minimumCalls: 1, failurePercent: 1 },
    });
    await expect(c.getNamespace("default")).rejects.toMatchObject({ status: 503 });
    await expect(c.getNamespace("default")).rejects.toMatchObject({
      code: "UPSTREAM_CIRCUIT_OPEN",
    });
    expect(seen.map(({ end }) => [end?.status, (end?.error as { code?: string })?.code])).toEqual([
      [503, "UPSTREAM_SERVER_ERROR"],
      [undefined, "UPSTREAM_CIRCUIT_OPEN"],
    ]);
    expect(
      upstream.local.requests.filter((r) => r.path.endsWith("/namespaces/default")),
    ).toHaveLength(1);
  });

  it("of coalesced reads are one, with the request id of the caller that started it", async () => {
    upstream.local.setFaults({ latencyMs: 100, match: "/namespaces" });
    const { c, seen } = observed();
    await Promise.all([
      c.withCall({ requestId: "first" }).listNamespaces(),
      c.withCall({ requestId: "second" }).listNamespaces(),
    ]);
    expect(seen.map(({ start }) => start.requestId)).toEqual(["first"]);
  });
});

describe("headers from a hook", () => {
  it("go out with the attempt, and never replace the client's own", async () => {
    const { c } = observed(
      {},
      {
        headers: {
          traceparent: TRACEPARENT,
          authorization: "Bearer not-the-token",
          "x-request-id": "not-the-request-id",
        },
      },
    );
    await expect(c.withCall({ requestId: "mine" }).getNamespace("default")).resolves.toMatchObject({
      name: "default",
    });
    const [request] = upstream.local.requests;
    expect(request).toMatchObject({ status: 200, traceparent: TRACEPARENT, requestId: "mine" });
  });
});

describe("streams", () => {
  it("report the headers as the attempt's end, then each event handed over, then the end", async () => {
    const { c, seen } = observed();
    const stream = await c.streamChatCompletions("default", question);
    expect(seen[0]?.start).toMatchObject({ endpoint: "streamChatCompletions", streaming: true });
    expect(seen[0]?.end?.status).toBe(200);
    expect(seen[0]?.end?.error).toBeUndefined();
    expect(seen[0]?.events).toEqual([]);
    const consumed: string[] = [];
    for await (const event of stream) consumed.push(event.type);
    expect(seen[0]?.events).toEqual(consumed);
    expect(consumed.at(-1)).toBe("done");
    expect(seen[0]?.streamEnds).toEqual([undefined]);
  });

  it("report a stream broken mid-way with its error, once", async () => {
    upstream.local.setFaults({ malformedSse: true, match: CHAT });
    const { c, seen } = observed();
    const stream = await c.streamChatCompletions("default", question);
    await expect(async () => {
      for await (const _ of stream) {
      }
    }).rejects.toMatchObject({ code: "UPSTREAM_PROTOCOL_ERROR" });
    stream.close();
    expect(seen[0]?.streamEnds).toEqual([
      expect.objectContaining({ code: "UPSTREAM_PROTOCOL_ERROR" }),
    ]);
  });

  it("report a stream its consumer closed as ended without error", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const { c, seen } = observed();
    const stream = await c.streamChatCompletions("default", question);
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.return?.();
    expect(seen[0]?.events).toEqual(["chunks"]);
    expect(seen[0]?.streamEnds).toEqual([undefined]);
    await upstream.local.waitForAbort(CHAT);
  });
});
