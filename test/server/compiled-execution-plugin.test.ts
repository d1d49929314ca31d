/**
 * useCompiledExecution on a small schema of its own: what is compiled, when, and that every
 * answer is exactly graphql-js'. The gateway's schema under it: compiled-execution-gateway.test.ts.
 */
import { GraphQLError, GraphQLScalarType, print } from "graphql";
import { compileQuery, isCompiledQuery } from "graphql-jit";
import { createSchema, createYoga, type Plugin } from "graphql-yoga";
import { describe, expect, it, vi } from "vitest";
import { maskError } from "../../src/server/errors.ts";
import {
  type CompiledExecutionOptions,
  useCompiledExecution,
} from "../../src/server/plugins/useCompiledExecution.ts";

/** Calls of the subscription resolver that gives no stream. */
const streamless = vi.fn();
/** Coercions of a `Counted` variable. */
const coerced = vi.fn();

/**
 * A schema with a query, a mutation, an enum argument and subscriptions: one of strings, one of
 * a union whose members' fields take arguments or fail (with a code, or unexpectedly), and one
 * whose `subscribe` refuses.
 */
const schema = createSchema({
  typeDefs: /* GraphQL */ `
    enum Role { USER ASSISTANT }
    scalar Counted
    type Query { echo(role: Role!): String! other: Int! }
    type Mutation { bump: Int! }
    type Tick { n: Int! label(upper: Boolean!): String! coded: String unexpected: String }
    type Tock { n: Int! }
    union Beat = Tick | Tock
    type Subscription {
      ticks(role: Role!): String!
      beats(count: Int!): Beat!
      echoes(role: Role!, count: Int!): String!
      refused: Beat
      streamless: Beat
      counted(value: Counted!): String!
    }
  `,
  resolvers: {
    Role: { USER: "user", ASSISTANT: "assistant" },
    Counted: new GraphQLScalarType({
      name: "Counted",
      parseValue: (value) => {
        coerced();
        return `counted ${String(value)}`;
      },
    }),
    Query: { echo: (_: unknown, { role }: { role: string }) => role, other: () => 7 },
    Mutation: { bump: () => 1 },
    Beat: { __resolveType: ({ n }: { n: number }) => (n % 2 === 0 ? "Tick" : "Tock") },
    Tick: {
      label: ({ n }: { n: number }, { upper }: { upper: boolean }) =>
        upper ? `BEAT ${n}` : `beat ${n}`,
      coded: () => {
        throw new GraphQLError("No such beat.", { extensions: { code: "NOT_FOUND" } });
      },
      unexpected: () => {
        throw new Error("a secret detail");
      },
    },
    Subscription: {
      ticks: {
        async *subscribe(_: unknown, { role }: { role: string }) {
          for (let i = 0; i < 3; i++) yield { ticks: `${role} ${i}` };
        },
      },
      beats: {
        async *subscribe(_: unknown, { count }: { count: number }) {
          for (let n = 0; n < count; n++) yield { beats: { n } };
        },
      },
      // A resolver reading its arguments on every event, not only in `subscribe`.
      echoes: {
        async *subscribe(_: unknown, { count }: { count: number }) {
          for (let n = 0; n < count; n++) yield n;
        },
        resolve: (n: number, { role, count }: { role: string; count: number }) =>
          `${role} ${n + 1} of ${count}`,
      },
      // A resolver that gives no stream: a programming error, answered as one.
      streamless: {
        subscribe: () => {
          streamless();
          return "not a stream";
        },
      },
      counted: {
        async *subscribe(_: unknown, { value }: { value: string }) {
          yield { counted: value };
        },
      },
      refused: {
        subscribe: () => {
          throw new GraphQLError("Not yours.", { extensions: { code: "FORBIDDEN" } });
        },
      },
    },
  },
});

function yogaCountingCompilations(compiled = true) {
  /** Calls of each compiled operation's function: one per query, mutation or stream event. */
  const runs = vi.fn();
  const compile = vi.fn<NonNullable<CompiledExecutionOptions["compile"]>>((...args) => {
    const result = compileQuery(...args);
    if (!isCompiledQuery(result)) return result;
    const { query } = result;
    const counted: typeof query = (...call) => {
      runs();
      return query(...call);
    };
    return { ...result, query: counted };
  });
  const plugins: Plugin[] = compiled ? [useCompiledExecution({ compile })] : [];
  const yoga = createYoga({ schema, plugins, maskedErrors: { maskError }, logging: false });
  const post = async (body: object, accept = "application/json") => {
    const response = await yoga.fetch("http://yoga/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept },
      body: JSON.stringify(body),
    });
    return accept === "application/json" ? response.json() : response.text();
  };
  /** A subscription over SSE: its status and every event's payload (or the refusal's body). */
  const subscribe = async (body: object) => {
    const response = await yoga.fetch("http://yoga/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const events = response.headers.get("content-type")?.startsWith("text/event-stream")
      ? [...text.matchAll(/^data: (.+)$/gm)].map(([, data]) => JSON.parse(data!))
      : [JSON.parse(text)];
    return { status: response.status, events };
  };
  return { compile, runs, post, subscribe };
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

  it("runs each subscription event compiled, once compiled per document, with enum variables", async () => {
    const { compile, runs, subscribe } = yogaCountingCompilations();
    const body = {
      query: "subscription($role: Role!) { ticks(role: $role) }",
      variables: { role: "ASSISTANT" },
    };
    for (let i = 0; i < 2; i++) {
      expect(await subscribe(body)).toEqual({
        status: 200,
        events: [0, 1, 2].map((n) => ({ data: { ticks: `assistant ${n}` } })),
      });
    }
    expect(compile).toHaveBeenCalledTimes(1);
    // Nothing below the root field reads a variable: events run without any to coerce.
    expect(print(compile.mock.calls[0]![1])).toBe("subscription {\n  ticks\n}");
    // Every event of both streams went through the compiled function, none through graphql-js.
    expect(runs).toHaveBeenCalledTimes(6);
  });

  it("coerces a lifted subscription's variables once (nothing below its root field reads one), as graphql-js alone does", async () => {
    const body = {
      query: "subscription($v: Counted!) { counted(value: $v) }",
      variables: { v: 1 },
    };
    for (const compiled of [true, false]) {
      coerced.mockClear();
      expect(await yogaCountingCompilations(compiled).subscribe(body)).toEqual({
        status: 200,
        events: [{ data: { counted: "counted 1" } }],
      });
      expect(coerced).toHaveBeenCalledTimes(1);
    }
  });

  it("asks a resolver that gives no stream once, and fails the operation unexpectedly", async () => {
    streamless.mockClear();
    const { subscribe } = yogaCountingCompilations();
    const { events } = await subscribe({ query: "subscription { streamless { __typename } }" });
    expect(events).toMatchObject([{ errors: [{ extensions: { code: "INTERNAL_SERVER_ERROR" } }] }]);
    expect(streamless).toHaveBeenCalledTimes(1);
  });

  // Each row: what a client gets compiled, which must also be exactly what graphql-js gives.
  const rows: {
    name: string;
    body: { query: string; variables?: Record<string, unknown> };
    status: number;
    check(events: { data?: unknown; errors?: GraphQLError[] }[]): void;
  }[] = [
    {
      name: "variables in an event's selection (argument, @include) and the union's members",
      body: {
        query:
          "subscription($upper: Boolean!, $n: Boolean!) { beats(count: 3) { __typename ... on Tick { n @include(if: $n) label(upper: $upper) } } }",
        variables: { upper: true, n: false },
      },
      status: 200,
      check: (events) =>
        expect(events).toEqual([
          { data: { beats: { __typename: "Tick", label: "BEAT 0" } } },
          { data: { beats: { __typename: "Tock" } } },
          { data: { beats: { __typename: "Tick", label: "BEAT 2" } } },
        ]),
    },
    {
      name: "the root field's resolver gets its coerced arguments with every event",
      body: {
        query: "subscription($role: Role!) { echoes(role: $role, count: 2) }",
        variables: { role: "USER" },
      },
      status: 200,
      check: (events) =>
        expect(events).toEqual([
          { data: { echoes: "user 1 of 2" } },
          { data: { echoes: "user 2 of 2" } },
        ]),
    },
    {
      name: "an event's coded error keeps its code, message and path",
      body: { query: "subscription { beats(count: 1) { ... on Tick { n coded } } }" },
      status: 200,
      check: (events) =>
        expect(events).toMatchObject([
          {
            data: { beats: { n: 0, coded: null } },
            errors: [
              {
                message: "No such beat.",
                path: ["beats", "coded"],
                extensions: { code: "NOT_FOUND" },
              },
            ],
          },
        ]),
    },
    {
      name: "an event's unexpected error is masked as INTERNAL_SERVER_ERROR",
      body: { query: "subscription { beats(count: 1) { ... on Tick { unexpected } } }" },
      status: 200,
      check: (events) => {
        expect(events).toMatchObject([
          {
            data: { beats: { unexpected: null } },
            errors: [
              { path: ["beats", "unexpected"], extensions: { code: "INTERNAL_SERVER_ERROR" } },
            ],
          },
        ]);
        expect(JSON.stringify(events)).not.toContain("secret");
      },
    },
    {
      name: "a subscribe that refuses keeps its code",
      body: { query: "subscription { refused { __typename } }" },
      status: 200,
      check: (events) =>
        expect(events).toMatchObject([
          { errors: [{ message: "Not yours.", extensions: { code: "FORBIDDEN" } }] },
        ]),
    },
    {
      name: "variables that do not coerce are refused before anything runs",
      body: {
        query: "subscription($role: Role!) { ticks(role: $role) }",
        variables: { role: "USR" },
      },
      status: 400,
      check: (events) => {
        expect(events).toHaveLength(1);
        expect(events[0]!.data).toBeUndefined();
        expect(events[0]!.errors?.[0]).toMatchObject({
          message: expect.stringMatching(/"USR"/),
          extensions: { code: "BAD_USER_INPUT" },
        });
      },
    },
  ];
  it.each(rows)("$name, as graphql-js would", async ({ body, status, check }) => {
    const compiled = await yogaCountingCompilations(true).subscribe(body);
    expect(compiled.status).toBe(status);
    check(compiled.events);
    expect(compiled).toEqual(await yogaCountingCompilations(false).subscribe(body));
  });
});
