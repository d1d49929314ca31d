import { print } from "graphql";
import { compileQuery } from "graphql-jit";
import { createSchema, createYoga } from "graphql-yoga";
import { describe, expect, it, vi } from "vitest";
import {
  AskStreamDocument,
  type AskStreamSubscription,
  type ChatCompletionInput,
} from "../../operations/generated/graphql.ts";
import {
  type CompiledExecutionOptions,
  useCompiledExecution,
} from "../../src/server/plugins/useCompiledExecution.ts";
import { startGateway } from "../helpers/gateway.ts";
import { captureLogs } from "../helpers/logs.ts";
import { openAcknowledged } from "../helpers/raw-ws.ts";
import { sseSubscribe } from "../helpers/streams.ts";

/** A schema with a query, a mutation, an enum argument and a subscription. */
const schema = createSchema({
  typeDefs: /* GraphQL */ `
    enum Role { USER ASSISTANT }
    type Query { echo(role: Role!): String! other: Int! }
    type Mutation { bump: Int! }
    type Subscription { ticks(role: Role!): String! }
  `,
  resolvers: {
    Role: { USER: "user", ASSISTANT: "assistant" },
    Query: { echo: (_: unknown, { role }: { role: string }) => role, other: () => 7 },
    Mutation: { bump: () => 1 },
    Subscription: {
      ticks: {
        async *subscribe(_: unknown, { role }: { role: string }) {
          for (let i = 0; i < 3; i++) yield { ticks: `${role} ${i}` };
        },
      },
    },
  },
});

function yogaCountingCompilations() {
  const compile = vi.fn<NonNullable<CompiledExecutionOptions["compile"]>>((...args) =>
    compileQuery(...args),
  );
  const yoga = createYoga({ schema, plugins: [useCompiledExecution({ compile })], logging: false });
  const post = async (body: object, accept = "application/json") => {
    const response = await yoga.fetch("http://yoga/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept },
      body: JSON.stringify(body),
    });
    return accept === "application/json" ? response.json() : response.text();
  };
  return { compile, post };
}

describe("useCompiledExecution", () => {
  it("compiles a query or mutation once per document and operation, and answers each its own", async () => {
    const { compile, post } = yogaCountingCompilations();
    const query = "query A($role: Role!) { echo(role: $role) } query B { other }";
    for (let i = 0; i < 3; i++) {
      expect(await post({ query, operationName: "A", variables: { role: "USER" } })).toEqual({
        data: { echo: "user" },
      });
      expect(await post({ query, operationName: "B" })).toEqual({ data: { other: 7 } });
    }
    expect(await post({ query: "mutation { bump }" })).toEqual({ data: { bump: 1 } });
    expect(compile.mock.calls.map(([, , name]) => name)).toEqual(["A", "B", undefined]);
  });

  it("reports a variable jit refuses as graphql-js would, with a message plugins can rewrite", async () => {
    const { post } = yogaCountingCompilations();
    const body = await post({
      query: "query($role: Role!) { echo(role: $role) }",
      variables: { role: "USR" },
    });
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].message).toMatch(/\$role.*USR/);
    expect(body.errors[0].locations).toEqual([{ line: 1, column: 7 }]);
  });

  it("leaves subscriptions to graphql-js: enum variables are coerced once, every event arrives", async () => {
    const { compile, post } = yogaCountingCompilations();
    const text = await post(
      {
        query: "subscription($role: Role!) { ticks(role: $role) }",
        variables: { role: "ASSISTANT" },
      },
      "text/event-stream",
    );
    const events = [...text.matchAll(/^data: (.+)$/gm)].map(([, data]) => JSON.parse(data!));
    expect(events.filter((event) => event.data)).toEqual(
      [0, 1, 2].map((i) => ({ data: { ticks: `assistant ${i}` } })),
    );
    expect(events.some((event) => event.errors)).toBe(false);
    expect(compile).not.toHaveBeenCalled();
  });
});

describe("the gateway with compiled execution", () => {
  const input: ChatCompletionInput = {
    instanceIds: ["gateway-docs"],
    // The enum variable jit used to re-coerce on every stream event.
    messages: [{ role: "USER", content: "How does the gateway stream answers?" }],
  };
  type Event = AskStreamSubscription["chatCompletionStream"];

  it("streams over SSE and graphql-ws to the end, and drains live streams without its deadline", async () => {
    const logs = captureLogs("info");
    const harness = await startGateway(
      { streamDelayMs: 100 },
      { SHUTDOWN_TIMEOUT_MS: "8000" },
      { logger: logs.logger },
    );
    try {
      const complete: Event[] = [];
      for await (const result of sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, {
        input,
      })) {
        expect(result.errors).toBeUndefined();
        complete.push(result.data!.chatCompletionStream);
      }
      expect(complete[0]?.__typename).toBe("ChatCompletionChunksEvent");
      expect(complete.at(-1)?.__typename).toBe("ChatCompletionDoneEvent");
      expect(
        complete.filter((e) => e.__typename === "ChatCompletionDeltaEvent").length,
      ).toBeGreaterThan(0);

      // Live streams on both transports when the drain starts.
      const sse = sseSubscribe(harness.gateway.graphqlUrl, AskStreamDocument, { input });
      expect((await sse.next()).value).toMatchObject({
        data: { chatCompletionStream: { __typename: "ChatCompletionChunksEvent" } },
      });
      const ws = await openAcknowledged(harness.gateway.graphqlUrl);
      ws.send({
        id: "live",
        type: "subscribe",
        payload: { query: print(AskStreamDocument), variables: { input } },
      });
      expect(await ws.nextFor("live")).toMatchObject({
        type: "next",
        payload: { data: { chatCompletionStream: { __typename: "ChatCompletionChunksEvent" } } },
      });

      const stopping = harness.app.stop();
      let sseLast: Event | undefined;
      for await (const result of sse) sseLast = result.data!.chatCompletionStream;
      expect(sseLast).toMatchObject({
        __typename: "ChatCompletionFailedEvent",
        code: "SHUTTING_DOWN",
      });
      let wsLast: unknown;
      for (
        let message = await ws.nextFor("live");
        message.type !== "complete";
        message = await ws.nextFor("live")
      ) {
        wsLast = message.payload;
      }
      expect(wsLast).toMatchObject({
        data: {
          chatCompletionStream: { __typename: "ChatCompletionFailedEvent", code: "SHUTTING_DOWN" },
        },
      });
      await stopping;
      // Both operations reached the observer's end: the drain never needed its deadline.
      expect(
        logs
          .lines()
          .map((line) => line.msg)
          .filter((msg) => msg.startsWith("shutdown:")),
      ).toEqual(["shutdown: draining", "shutdown: done"]);
    } finally {
      await harness.close();
    }
  });
});
