/** The production entries (`node dist/main.js`, `node dist/local/main.js`) serve and drain. */
import path from "node:path";
import { print } from "graphql";
import { describe, expect, it } from "vitest";
import {
  AskStreamDocument,
  type AskStreamSubscription,
  type ChatCompletionInput,
  NamespacesDocument,
} from "../../operations/generated/graphql.ts";
import { closeAfterEach, openAcknowledged } from "../helpers/raw-ws.ts";
import { type StreamResult, sseSubscribe } from "../helpers/streams.ts";
import { spawnGateway, tempCacheDir } from "./gateway-process.ts";

const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs", "ai-search-concepts"],
  messages: [{ role: "USER", content: "How does the gateway stream answers?" }],
};
const track = closeAfterEach();

async function post(graphqlUrl: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

describe("node dist/main.js", () => {
  it("serves GraphQL from the built files, reading the corpus and the trusted documents", async () => {
    // Both are read from paths relative to the module, which moved from src/ to dist/.
    const gateway = spawnGateway({ env: { TRUSTED_DOCUMENTS: "enforce" } });
    const graphqlUrl = await gateway.listening();
    const { status, body } = await post(graphqlUrl, {
      documentId: (NamespacesDocument as { __meta__?: { hash: string } }).__meta__?.hash,
      variables: { instancesFirst: 5 },
    });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const names = body.data.namespaces.edges.map(
      (edge: { node: { name: string } }) => edge.node.name,
    );
    expect(names).toContain("default");
    const refused = await post(graphqlUrl, { query: "{ __typename }" });
    expect(refused.body.errors[0].extensions.code).toBe("PERSISTED_QUERY_ONLY");
  });

  it.each(["SIGTERM", "SIGINT"] as const)(
    "on %s ends live streams with SHUTTING_DOWN, closes WebSockets with 1001 and exits 0",
    async (signal) => {
      // Slow deltas keep both streams live until the signal.
      const gateway = spawnGateway({ env: { LOCAL_STREAM_DELAY_MS: "1000" } });
      const graphqlUrl = await gateway.listening();
      const sse = sseSubscribe(graphqlUrl, AskStreamDocument, { input });
      const sseEvents = [(await sse.next()).value as StreamResult<AskStreamSubscription>];
      const ws = track(await openAcknowledged(graphqlUrl));
      ws.send({
        id: "live",
        type: "subscribe",
        payload: { query: print(AskStreamDocument), variables: { input } },
      });
      const wsMessages = [await ws.nextFor("live")];
      expect(wsMessages[0]!.type).toBe("next");

      gateway.signal(signal);

      for await (const result of sse) sseEvents.push(result);
      expect(sseEvents.at(-1)?.data?.chatCompletionStream).toMatchObject({
        __typename: "ChatCompletionFailedEvent",
        code: "SHUTTING_DOWN",
        retryable: true,
      });
      for (;;) {
        const message = await ws.nextFor("live");
        if (message.type === "complete") break;
        wsMessages.push(message);
      }
      const wsLast = wsMessages.at(-1)?.payload as StreamResult<AskStreamSubscription>;
      expect(wsLast.data?.chatCompletionStream).toMatchObject({ code: "SHUTTING_DOWN" });
      expect((await ws.closed).code).toBe(1001);
      expect(await gateway.exited()).toEqual({ code: 0, signal: null });
      await gateway.waitForLog("shutdown: done");
    },
  );
});

describe("node dist/local/main.js", () => {
  it("serves the local AI Search and stops on SIGTERM", async () => {
    const local = spawnGateway({
      entry: "dist-local",
      env: { LOCAL_PORT: "0", LOCAL_API_TOKEN: "process-test" },
    });
    const [, url] = await local.waitForLine(/listening on (http:\/\/\S+)/);
    const response = await fetch(`${url}/client/v4/accounts/any/ai-search/namespaces`, {
      headers: { authorization: "Bearer process-test" },
    });
    expect(response.status).toBe(200);
    local.signal("SIGTERM");
    expect(await local.exited()).toEqual({ code: 0, signal: null });
  });
});

describe("the embedded local AI Search's data directory", () => {
  // Nothing in the graph writes yet, so the standalone server (same data directory default)
  // writes, and the gateway's embedded one must find it after the restart.
  it.each([
    ["the default under XDG_CACHE_HOME", () => ({ XDG_CACHE_HOME: tempCacheDir() })],
    ["LOCAL_DATA_DIR", () => ({ LOCAL_DATA_DIR: path.join(tempCacheDir(), "data") })],
  ])("keeps what was written across a restart: %s", async (_, where) => {
    const env = where();
    const local = spawnGateway({
      entry: "dist-local",
      env: { ...env, LOCAL_PORT: "0", LOCAL_API_TOKEN: "process-test" },
    });
    const [, url] = await local.waitForLine(/listening on (http:\/\/\S+)/);
    const created = await fetch(`${url}/client/v4/accounts/any/ai-search/namespaces`, {
      method: "POST",
      headers: { authorization: "Bearer process-test", "content-type": "application/json" },
      body: JSON.stringify({ name: "kept-across-restarts" }),
    });
    expect(created.status).toBe(200);
    local.signal("SIGTERM");
    expect(await local.exited()).toEqual({ code: 0, signal: null });

    const gateway = spawnGateway({ env });
    const { status, body } = await post(await gateway.listening(), {
      query: "{ namespaces(first: 100) { edges { node { name } } } }",
    });
    expect(status).toBe(200);
    const names = body.data.namespaces.edges.map(
      (edge: { node: { name: string } }) => edge.node.name,
    );
    expect(names).toEqual(expect.arrayContaining(["default", "kept-across-restarts"]));
  });
});
