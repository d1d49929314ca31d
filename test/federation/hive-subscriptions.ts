/**
 * Subscriptions through Hive Gateway, the same suite for each of its transports to the AI Search
 * subgraph (SSE, graphql-ws); each test file starts one supergraph and runs this against it.
 */
import { createClient, type ExecutionResult } from "graphql-sse";
import { describe, expect, it, vi } from "vitest";
import { expectCompleteAnswer } from "../clients/operations.ts";
import { CLIENT_KEY, FEDERATED_STREAM, type Supergraph, streamInput, USER_HEADER } from "./hive.ts";

type StreamEvent = { __typename: string } & Record<string, unknown>;
type Result = ExecutionResult<{ chatCompletionStream: StreamEvent }, unknown>;

/** An end client of the router, over SSE. */
export function endClient(supergraph: Supergraph, headers: Record<string, string>) {
  return createClient({ url: supergraph.url, headers, retryAttempts: 0 });
}

/** `transport`: how the router reaches the AI Search subgraph, as its log lines say. */
export function subscriptionSuite(supergraph: () => Supergraph, transport: "sse" | "ws") {
  const streamsTo = (path: string) =>
    supergraph().harness.local.requests.filter((r) => r.path.endsWith(path));

  describe("subscriptions through Hive Gateway", () => {
    it("relays a whole answer with federated fields inside its events", async () => {
      const client = endClient(supergraph(), { [USER_HEADER]: "reader" });
      const results: Result[] = [];
      for await (const result of client.iterate<Result["data"]>({
        query: FEDERATED_STREAM,
        variables: streamInput(),
      })) {
        results.push(result as Result);
      }
      client.dispose();
      expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
      const events = results.map((r) => r.data!.chatCompletionStream);
      expectCompleteAnswer(events as never);
      const chunks = (events[0] as unknown as { chunks: { instance: unknown }[] }).chunks;
      expect(chunks.length).toBeGreaterThan(0);
      for (const chunk of chunks) {
        expect(chunk.instance).toMatchObject({
          team: { name: "Search Platform" },
          namespace: { owner: { slug: "search-platform" } },
        });
      }
    });

    it("carries the end user's identity: their own key, or the id the router gives", async () => {
      const { logs } = supergraph();
      const ask = async (headers: Record<string, string>) => {
        const client = endClient(supergraph(), headers);
        for await (const _ of client.iterate({
          query: FEDERATED_STREAM,
          variables: streamInput(),
        })) {
          // read to the end
        }
        client.dispose();
      };
      const before = logs.lines().length;
      await ask({ [USER_HEADER]: "identified-user" });
      await ask({ authorization: `Bearer ${CLIENT_KEY}` });
      await vi.waitFor(() => {
        const lines = logs
          .lines()
          .slice(before)
          .filter((l) => l.msg === "graphql operation" && l.operationName === "FederatedStream");
        expect(lines.map((l) => l.transport)).toEqual([transport, transport]);
        expect(lines.map((l) => l.client)).toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^router:[0-9a-f]{16}\/user:identified-user$/),
            expect.stringMatching(/^key:[0-9a-f]{16}$/),
          ]),
        );
      });
    });

    // Over graphql-ws the router's `complete` aborts at once; over SSE its closed response starts
    // the grace period for a resume, after which the stream is aborted all the same.
    it("aborts the upstream request when the end client goes away", async () => {
      const { harness } = supergraph();
      harness.local.setFaults({ endlessStream: true, match: "/chat/completions" });
      try {
        const aborted = harness.local.waitForAbort("/chat/completions", 10_000);
        const before = streamsTo("/chat/completions").filter((r) => r.aborted).length;
        const client = endClient(supergraph(), { [USER_HEADER]: "leaver" });
        const iterator = client.iterate({ query: FEDERATED_STREAM, variables: streamInput() });
        const first = await iterator.next();
        expect(first.value?.data).toMatchObject({
          chatCompletionStream: { __typename: "ChatCompletionChunksEvent" },
        });
        await iterator.return?.();
        await aborted;
        expect(streamsTo("/chat/completions").filter((r) => r.aborted).length).toBe(before + 1);
        client.dispose();
      } finally {
        harness.local.setFaults(undefined);
      }
    });

    it("serves 25 end users' subscriptions at once through one router, with a per-client cap of 20", async () => {
      const { harness } = supergraph();
      harness.local.setFaults({ endlessStream: true, match: "/chat/completions" });
      const clients = Array.from({ length: 25 }, (_, i) =>
        endClient(supergraph(), { [USER_HEADER]: `crowd-${i}` }),
      );
      try {
        const iterators = clients.map((c) =>
          c.iterate({ query: FEDERATED_STREAM, variables: streamInput() }),
        );
        const firsts = await Promise.all(iterators.map((it) => it.next()));
        for (const first of firsts) {
          expect(first.value?.errors).toBeUndefined();
          expect(first.value?.data).toMatchObject({
            chatCompletionStream: { __typename: "ChatCompletionChunksEvent" },
          });
        }
        await Promise.all(iterators.map((it) => it.return?.()));
      } finally {
        for (const c of clients) c.dispose();
        harness.local.setFaults(undefined);
      }
    });

    it("shows the end client a refusal with its real code", async () => {
      const { harness } = supergraph();
      harness.local.setFaults({ endlessStream: true, match: "/chat/completions" });
      const client = endClient(supergraph(), { [USER_HEADER]: "greedy" });
      try {
        const held = Array.from({ length: 20 }, () =>
          client.iterate({ query: FEDERATED_STREAM, variables: streamInput() }),
        );
        const firsts = await Promise.all(held.map((it) => it.next()));
        expect(firsts.every((f) => f.value?.data)).toBe(true);
        const refused: Result[] = [];
        for await (const result of client.iterate({
          query: FEDERATED_STREAM,
          variables: streamInput(),
        })) {
          refused.push(result as Result);
        }
        expect(refused.flatMap((r) => r.errors ?? [])).toEqual([
          expect.objectContaining({
            message: "Too many subscriptions for this client (at most 20 at once).",
            extensions: expect.objectContaining({ code: "TOO_MANY_SUBSCRIPTIONS" }),
          }),
        ]);
        await Promise.all(held.map((it) => it.return?.()));
      } finally {
        client.dispose();
        harness.local.setFaults(undefined);
      }
    });
  });
}
