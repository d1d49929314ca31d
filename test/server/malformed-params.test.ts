import { describe, expect, it } from "vitest";
import { useInProcessGateway } from "../helpers/in-process.ts";

const gateway = useInProcessGateway();

const ask = (init: RequestInit, query = "") =>
  Promise.resolve(gateway.yoga.fetch(`http://gateway.test/graphql${query}`, init));

const QUERY = "query ($n: Boolean = true) { __typename @include(if: $n) }";

describe("parameters that are not JSON", () => {
  it.each<{ via: string; query: string; init: RequestInit }>([
    {
      via: "a GET query string",
      query: `?query=${encodeURIComponent(QUERY)}&variables=%7Bnot-json`,
      init: { method: "GET", headers: { accept: "application/json" } },
    },
    {
      via: "a form body",
      query: "",
      init: {
        method: "POST",
        headers: {
          accept: "application/json",
          "content-type": "application/x-www-form-urlencoded",
          // A form is a simple request: CSRF prevention asks for this header before reading it.
          "graphql-require-preflight": "1",
        },
        body: `query=${encodeURIComponent(QUERY)}&extensions=%7Bnot-json`,
      },
    },
    {
      via: "a JSON body that does not parse (Yoga's own parser)",
      query: "",
      init: {
        method: "POST",
        headers: { accept: "application/json", "content-type": "application/json" },
        body: '{"query": "{ __typename }", "variables": {',
      },
    },
  ])(
    "are refused with 400 BAD_REQUEST from $via, without a parser's message",
    async ({ query, init }) => {
      const response = await ask(init, query);
      expect(response.status).toBe(400);
      const body = await response.json();
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0].extensions.code).toBe("BAD_REQUEST");
      expect(body.errors[0].message).not.toMatch(/position|Unexpected token|SyntaxError/);
    },
  );

  it("a JSON body that parses still runs", async () => {
    const response = await ask({
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({ query: QUERY, variables: { n: true } }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: "Query" } });
  });
});
