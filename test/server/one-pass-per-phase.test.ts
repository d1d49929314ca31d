import { createSchema, createYoga, type Plugin } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import { onePassPerPhase } from "../../src/server/plugins/onePassPerPhase.ts";

const schema = createSchema({
  typeDefs: "type Query { hello(name: String): String! }",
  resolvers: { Query: { hello: (_: unknown, { name }: { name?: string }) => `hi ${name ?? ""}` } },
});

const yogaWith = (plugins: Plugin[]) =>
  createYoga({ schema, logging: false, plugins: onePassPerPhase(plugins) });

const post = (yoga: ReturnType<typeof yogaWith>, body: object, path = "/graphql") =>
  Promise.resolve(
    yoga.fetch(`http://gateway.test${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("onePassPerPhase", () => {
  it("registers one hook per HTTP phase and leaves the other hooks with their plugins", () => {
    const a: Plugin = { onRequest() {}, onParams() {}, onExecute() {} };
    const b: Plugin = { onRequest() {}, onResponse() {}, onParse() {} };
    const [merged, ...rest] = onePassPerPhase([a, b]);
    expect(Object.keys(merged!).sort()).toEqual(["onParams", "onRequest", "onResponse"]);
    const c: Plugin = { onResultProcess() {} };
    expect(Object.keys(onePassPerPhase([a, c])[0]!).sort()).toEqual([
      "onParams",
      "onRequest",
      "onResultProcess",
    ]);
    expect(rest.map((plugin) => Object.keys(plugin))).toEqual([["onExecute"], ["onParse"]]);
  });

  it("runs each phase's hooks in order, an async one before the next, and stops at a response", async () => {
    const calls: string[] = [];
    const yoga = yogaWith([
      { onRequest: ({ url }) => void calls.push(`a ${url.pathname}`) },
      {
        async onRequest({ url }) {
          await tick();
          calls.push(`b ${url.pathname}`);
        },
      },
      {
        onRequest({ url, endResponse }) {
          calls.push(`c ${url.pathname}`);
          if (url.pathname === "/stop") endResponse(new Response("stopped", { status: 418 }));
        },
      },
      { onRequest: () => void calls.push("d") },
    ]);
    const stopped = await post(yoga, { query: "{ hello }" }, "/stop");
    expect(stopped.status).toBe(418);
    expect(await stopped.text()).toBe("stopped");
    expect(calls).toEqual(["a /stop", "b /stop", "c /stop"]);
    calls.length = 0;
    const passed = await post(yoga, { query: "{ hello }" });
    expect(await passed.json()).toEqual({ data: { hello: "hi " } });
    expect(calls).toEqual(["a /graphql", "b /graphql", "c /graphql", "d"]);
  });

  it("shows each hook what the hooks before it set: parser, parse result, params, result, response", async () => {
    const seen: Record<string, unknown> = {};
    const yoga = yogaWith([
      {
        onRequestParse({ requestParser, setRequestParser }) {
          const parse = requestParser!;
          setRequestParser(async (request) => ({
            ...(await parse(request)),
            extensions: { marked: "parser" },
          }));
          return {
            onRequestParseDone({ requestParserResult, setRequestParserResult }) {
              const params = requestParserResult as { variables?: object };
              setRequestParserResult({ ...params, variables: { name: "from done" } });
            },
          };
        },
        onParams({ params, setParams }) {
          setParams({ ...params, variables: { name: `${params.variables?.name} and params` } });
        },
        onExecutionResult({ result, setResult }) {
          setResult({ ...(result as object), extensions: { first: true } });
        },
        onResultProcess({ result, setResult, resultProcessor, setResultProcessor }) {
          setResult({ ...(result as object), extensions: { first: true, processed: true } });
          const processor = resultProcessor!;
          // Marks what it answers, so the response shows the replacement reached Yoga.
          setResultProcessor(async (processed, fetchAPI, accepted) => {
            const answered = await processor(processed, fetchAPI, accepted);
            answered.headers.set("x-processor", `replaced for ${accepted}`);
            return answered;
          }, "application/json");
        },
        onResponse({ response, setResponse }) {
          const replaced = new Response(response.body, response);
          replaced.headers.set("x-first", "1");
          setResponse(replaced);
        },
      },
      {
        onRequestParse({ requestParser }) {
          seen.parserReplaced = requestParser?.toString().includes("marked");
          return {
            onRequestParseDone({ requestParserResult }) {
              seen.done = requestParserResult;
            },
          };
        },
        onParams({ params }) {
          seen.params = params.variables;
        },
        onExecutionResult({ result }) {
          seen.result = (result as { extensions?: object }).extensions;
        },
        onResultProcess({ result, resultProcessor }) {
          seen.processed = (result as { extensions?: object }).extensions;
          seen.processorReplaced = resultProcessor?.toString().includes("x-processor");
        },
        onResponse({ response }) {
          seen.header = response.headers.get("x-first");
        },
      },
    ]);
    const response = await post(yoga, { query: "query ($name: String) { hello(name: $name) }" });
    expect(await response.json()).toEqual({
      data: { hello: "hi from done and params" },
      extensions: { first: true, processed: true },
    });
    expect(response.headers.get("x-first")).toBe("1");
    expect(response.headers.get("x-processor")).toBe("replaced for application/json");
    expect(seen).toEqual({
      parserReplaced: true,
      done: {
        query: "query ($name: String) { hello(name: $name) }",
        extensions: { marked: "parser" },
        variables: { name: "from done" },
      },
      params: { name: "from done and params" },
      result: { first: true },
      processed: { first: true, processed: true },
      processorReplaced: true,
      header: "1",
    });
  });

  it("fails the request when a hook's promise rejects, and runs none after it", async () => {
    const calls: string[] = [];
    const yoga = yogaWith([
      {
        async onParams() {
          await tick();
          throw new Error("refused");
        },
      },
      { onParams: () => void calls.push("later") },
    ]);
    const response = await post(yoga, { query: "{ hello }" });
    const body = await response.json();
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(calls).toEqual([]);
  });

  it("returns no promise from a phase whose hooks all return at once", () => {
    const [merged] = onePassPerPhase([{ onParams() {} }, { onParams: () => undefined }]);
    const payload = { params: {}, setParams() {}, setParamsHandler() {} };
    expect((merged!.onParams as (p: unknown) => unknown)(payload)).toBeUndefined();
  });
});
