import { request as httpRequest, type IncomingMessage } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import type { Envelope } from "../../src/upstream/types.ts";
import {
  AUTH,
  apiPath,
  call,
  callJson,
  parseSse,
  readUntil,
  startSmallLocal,
  streamedText,
  WAIT,
} from "./helpers.ts";

let local: LocalAiSearch;
let dir: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ local, dir, stop } = await startSmallLocal({ streamDelayMs: 0 }));
});
afterEach(() => {
  local.setFaults(undefined);
  local.resetRequests();
});
afterAll(() => stop());

const CHAT = "/namespaces/default/chat/completions";
const streamBody = {
  stream: true,
  messages: [
    { role: "user", content: "How do orchards grow apples, pears and other fruit trees?" },
  ],
  ai_search_options: { instance_ids: ["alpha", "beta"] },
};
const deltaCount = (text: string) =>
  parseSse(text).filter((e) => e.event === undefined && e.data.includes('"content"')).length;

/** A request the server holds: it is recorded but unanswered until the client aborts. */
async function expectHeldThenAbort(path: string, init: Parameters<typeof call>[2] = {}) {
  const controller = new AbortController();
  const pending = call(local.baseUrl, path, { ...init, signal: controller.signal });
  pending.catch(() => {});
  await vi.waitFor(
    () => expect(local.requests.some((r) => r.path.endsWith(path))).toBe(true),
    WAIT,
  );
  // A round trip on another connection gives the held request every chance to answer first.
  expect((await call(local.baseUrl, "/namespaces")).status).toBe(200);
  const held = local.requests.find((r) => r.path.endsWith(path))!;
  expect(held.status).toBeUndefined();
  controller.abort();
  await expect(pending).rejects.toThrow();
  const aborted = await local.waitForAbort(path);
  expect(aborted).toBe(held);
  expect(aborted.aborted).toBe(true);
  expect(aborted.status).toBeUndefined();
}

describe("error faults", () => {
  it("answers 429 with an error envelope and a default Retry-After", async () => {
    local.setFaults({ errorStatus: 429 });
    const { status, body, headers } = await callJson<Envelope<null>>(local.baseUrl, "/namespaces");
    expect(status).toBe(429);
    expect(body).toMatchObject({ success: false, result: null });
    expect(body.errors[0]!.message).toMatch(/rate limited/);
    expect(headers.get("retry-after")).toBe("1");
    expect(local.requests.at(-1)!.status).toBe(429);
  });

  it("sends the configured retry headers", async () => {
    local.setFaults({ errorStatus: 503, retryAfter: "7", retryAfterMs: 1500 });
    const { status, headers } = await callJson(local.baseUrl, "/namespaces");
    expect(status).toBe(503);
    expect(headers.get("retry-after")).toBe("7");
    expect(headers.get("retry-after-ms")).toBe("1500");
  });

  it("sends no Retry-After for other statuses unless asked", async () => {
    local.setFaults({ errorStatus: 500 });
    const { status, headers } = await callJson(local.baseUrl, "/namespaces");
    expect(status).toBe(500);
    expect(headers.get("retry-after")).toBeNull();
  });

  it("scopes faults with match and times", async () => {
    local.setFaults({ errorStatus: 500, match: "/search", times: 2 });
    const search = () =>
      call(local.baseUrl, "/namespaces/default/instances/alpha/search", {
        body: { query: "apples" },
      });
    expect((await call(local.baseUrl, "/namespaces")).status).toBe(200);
    expect((await search()).status).toBe(500);
    expect((await search()).status).toBe(500);
    expect((await search()).status).toBe(200);
  });

  it("applies faults before authentication, like a network problem would", async () => {
    local.setFaults({ errorStatus: 502 });
    const response = await fetch(`${local.baseUrl}/accounts/a/ai-search/namespaces`);
    expect(response.status).toBe(502);
  });

  it("redirects", async () => {
    local.setFaults({ redirectTo: "https://example.invalid/elsewhere" });
    const response = await call(local.baseUrl, "/namespaces");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("https://example.invalid/elsewhere");
  });
});

describe("timing faults", () => {
  it("holds a response for latencyMs, and releases it when the client aborts", async () => {
    local.setFaults({ latencyMs: 600_000, match: "/instances/alpha" });
    await expectHeldThenAbort("/namespaces/default/instances/alpha");
  });

  it("answers normally once a short latency has passed", async () => {
    local.setFaults({ latencyMs: 5 });
    expect((await call(local.baseUrl, "/namespaces")).status).toBe(200);
  });

  it("stalls before headers until the client gives up", async () => {
    local.setFaults({ stallBeforeHeadersMs: Number.POSITIVE_INFINITY, match: "/chat/" });
    await expectHeldThenAbort(CHAT, { body: streamBody });
  });

  it("close() ends stalled requests instead of hanging", async () => {
    const doomed = await startLocalAiSearch({
      corpusDir: dir,
      faults: { stallBeforeHeadersMs: Number.POSITIVE_INFINITY },
    });
    const pending = call(doomed.baseUrl, "/namespaces");
    pending.catch(() => {});
    await vi.waitFor(() => expect(doomed.requests).toHaveLength(1), WAIT);
    expect(doomed.openConnections()).toBe(1);
    await doomed.close();
    await expect(pending).rejects.toThrow();
    await vi.waitFor(() => expect(doomed.openConnections()).toBe(0), WAIT);
    expect(doomed.requests[0]!.aborted).toBe(true);
  });
});

describe("stream faults", () => {
  it("stops after N deltas and keeps the socket open until the client leaves", async () => {
    local.setFaults({ stallMidStreamAfterDeltas: 2 });
    const controller = new AbortController();
    const response = await call(local.baseUrl, CHAT, {
      body: streamBody,
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const text = await readUntil(response, (t) => deltaCount(t) >= 2);
    const reader = response.body!.getReader();
    const next = reader.read();
    next.catch(() => {});
    // Without the fault the rest of the answer would be written immediately (streamDelayMs 0).
    expect((await call(local.baseUrl, "/namespaces")).status).toBe(200);
    const settled = await Promise.race([next.then(() => "more data"), Promise.resolve("nothing")]);
    expect(settled).toBe("nothing");
    expect(deltaCount(text)).toBe(2);
    expect(text).not.toContain("finish_reason");
    controller.abort();
    const aborted = await local.waitForAbort("/chat/completions");
    expect(aborted).toMatchObject({ status: 200, aborted: true });
  });

  it("sends one malformed frame after the chunks event and then carries on", async () => {
    local.setFaults({ malformedSse: true });
    const events = parseSse(await (await call(local.baseUrl, CHAT, { body: streamBody })).text());
    expect(events[0]!.event).toBe("chunks");
    expect(() => JSON.parse(events[1]!.data)).toThrow();
    const rest = events.slice(2);
    expect(streamedText(rest).length).toBeGreaterThan(0);
    expect(events.at(-1)!.data).toBe("[DONE]");
  });

  it("ends without [DONE] when asked", async () => {
    local.setFaults({ endWithoutDone: true });
    const events = parseSse(await (await call(local.baseUrl, CHAT, { body: streamBody })).text());
    expect(events.some((e) => e.data === "[DONE]")).toBe(false);
    expect(JSON.parse(events.at(-1)!.data).choices[0].finish_reason).toBe("stop");
  });

  it("ignores stream faults on non-streaming requests", async () => {
    local.setFaults({ stallMidStreamAfterDeltas: 0, malformedSse: true });
    const { status } = await callJson(local.baseUrl, CHAT, {
      body: { ...streamBody, stream: false },
    });
    expect(status).toBe(200);
  });
});

describe("aborts and connections", () => {
  it("records a client that hangs up mid-stream and frees its socket", async () => {
    const slow = await startLocalAiSearch({ corpusDir: dir, streamDelayMs: 60_000 });
    try {
      // node:http without an agent: exactly one socket, so its closing is observable (fetch's
      // pool may open a spare connection as soon as one is aborted).
      const url = new URL(`${slow.baseUrl}${apiPath(CHAT)}`);
      const request = httpRequest(url, {
        method: "POST",
        agent: false,
        headers: { ...AUTH, "content-type": "application/json" },
      });
      request.on("error", () => {});
      request.end(JSON.stringify(streamBody));
      const response = await new Promise<IncomingMessage>((resolve) =>
        request.on("response", resolve),
      );
      let text = "";
      await new Promise<void>((resolve) =>
        response.on("data", (part: Buffer) => {
          text += part.toString();
          if (deltaCount(text) >= 1) resolve();
        }),
      );
      expect(slow.openConnections()).toBe(1);
      request.destroy();
      const aborted = await slow.waitForAbort("chat/completions");
      expect(aborted).toMatchObject({ method: "POST", status: 200, aborted: true });
      await vi.waitFor(() => expect(slow.openConnections()).toBe(0), WAIT);
    } finally {
      await slow.close();
    }
  });

  it("gives each abort to one waiter and times out when none comes", async () => {
    local.setFaults({ latencyMs: 600_000 });
    const waits = [local.waitForAbort("/namespaces"), local.waitForAbort("/namespaces")];
    for (let i = 0; i < 2; i++) {
      const controller = new AbortController();
      const pending = call(local.baseUrl, `/namespaces?attempt=${i}`, {
        signal: controller.signal,
      });
      pending.catch(() => {});
      await vi.waitFor(() => expect(local.requests).toHaveLength(i + 1), WAIT);
      controller.abort();
    }
    const [first, second] = await Promise.all(waits);
    expect(first!.query).toBe("attempt=0");
    expect(second!.query).toBe("attempt=1");
    await expect(local.waitForAbort("/namespaces", 20)).rejects.toThrow(
      /no request matching "\/namespaces" was aborted/,
    );
  });
});
