/**
 * `AiSearchClient.withCall`: a client bound to one caller, over real sockets against the local
 * AI Search (which accepts only its own token).
 */
import { describe, expect, it } from "vitest";
import {
  InvalidCredentialsError,
  UpstreamAbortedError,
  UpstreamUnauthenticatedError,
} from "../../src/upstream/errors.ts";
import { useLocalUpstream } from "./local-upstream.ts";

const TOKEN = "bindings-token-0123456789";
const CHAT = "/chat/completions";

const upstream = useLocalUpstream(TOKEN);

/** A client without credentials of its own unless given, as in pass-through mode. */
const client = (credentials?: { kind: "token"; token: string }) => upstream.client({ credentials });

const question = {
  messages: [{ role: "user" as const, content: "how are streams relayed?" }],
  ai_search_options: { instance_ids: ["gateway-docs"] },
};

describe("a binding", () => {
  it("sends every call with its credentials and request id", async () => {
    const caller = client().withCall({
      credentials: { kind: "token", token: TOKEN },
      requestId: "bound-1",
    });
    await caller.getNamespace("default");
    await caller.listInstances("default");
    await caller.searchNamespace("default", {
      query: "streams",
      ai_search_options: question.ai_search_options,
    });
    expect(upstream.local.requests.map((r) => [r.status, r.requestId])).toEqual([
      [200, "bound-1"],
      [200, "bound-1"],
      [200, "bound-1"],
    ]);
  });

  it("never falls back to the client's credentials when it brings its own", async () => {
    const operator = client({ kind: "token", token: TOKEN });
    const caller = operator.withCall({ credentials: { kind: "token", token: "caller-token" } });
    await expect(caller.getNamespace("default")).rejects.toBeInstanceOf(
      UpstreamUnauthenticatedError,
    );
    await expect(operator.getNamespace("default")).resolves.toMatchObject({ name: "default" });
  });

  it("without credentials calls with the client's own, or fails when there are none", async () => {
    await expect(
      client({ kind: "token", token: TOKEN }).withCall({ requestId: "r" }).getNamespace("default"),
    ).resolves.toMatchObject({ name: "default" });
    const missing = client().withCall({ requestId: "r" });
    await expect(missing.getNamespace("default")).rejects.toMatchObject({
      code: "MISSING_CREDENTIALS",
    });
    expect(upstream.local.requests).toHaveLength(1);
  });

  it("with malformed credentials fails each call, and sends nothing", async () => {
    const bound = client().withCall({ credentials: { kind: "token", token: `${TOKEN}\r\nx: y` } });
    await expect(bound.getNamespace("default")).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(bound.streamChatCompletions("default", question)).rejects.toBeInstanceOf(
      InvalidCredentialsError,
    );
    expect(upstream.local.requests).toEqual([]);
  });

  it("ends its calls, open streams included, when its signal aborts", async () => {
    upstream.local.setFaults({ endlessStream: true, match: CHAT });
    const caller = new AbortController();
    const bound = client({ kind: "token", token: TOKEN }).withCall({ signal: caller.signal });
    expect(bound.signal).toBe(caller.signal);
    const stream = await bound.streamChatCompletions("default", question);
    const events = stream[Symbol.asyncIterator]();
    await events.next();
    const aborted = upstream.local.waitForAbort(CHAT);
    caller.abort();
    // Events already parsed may still come; then the iteration fails.
    await expect(async () => {
      for (let next = await events.next(); !next.done; next = await events.next()) {}
    }).rejects.toBeInstanceOf(UpstreamAbortedError);
    expect((await aborted).aborted).toBe(true);
    await expect(bound.getNamespace("default")).rejects.toBeInstanceOf(UpstreamAbortedError);
  });

  it("lets one call narrow it with a signal of its own, and stays usable", async () => {
    const bound = client({ kind: "token", token: TOKEN }).withCall({
      signal: new AbortController().signal,
    });
    await expect(
      bound.getNamespace("default", { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(UpstreamAbortedError);
    await expect(bound.getNamespace("default")).resolves.toMatchObject({ name: "default" });
  });

  it("shares the client's circuit breaker with every other binding", async () => {
    upstream.local.setFaults({ errorStatus: 503, match: "/namespaces/default" });
    const c = upstream.client({ circuit: { minimumCalls: 1, failurePercent: 1 } });
    await expect(c.withCall({ requestId: "a" }).getNamespace("default")).rejects.toMatchObject({
      status: 503,
    });
    expect(c.circuitState).toBe("open");
    await expect(c.withCall({ requestId: "b" }).getNamespace("default")).rejects.toMatchObject({
      code: "UPSTREAM_CIRCUIT_OPEN",
    });
    expect(upstream.local.requests.map((r) => r.requestId)).toEqual(["a"]);
  });
});
