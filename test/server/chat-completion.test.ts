import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { AskDocument } from "../../operations/generated/graphql.ts";
import { aiSearchRequests, type GatewayHarness, startGateway } from "../helpers/gateway.ts";

let harness: GatewayHarness;
const upstreamRequests = () => aiSearchRequests(harness.local);

beforeAll(async () => {
  harness = await startGateway();
});
afterAll(() => harness.close());

describe("Mutation.chatCompletion", () => {
  it("answers from several instances with chunks and scoring details", async () => {
    const { status, body } = await harness.graphql(AskDocument, {
      input: {
        instanceIds: ["gateway-docs", "ai-search-concepts"],
        messages: [{ role: "USER", content: "How are chunks ranked and fused?" }],
      },
    });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const completion = body.data!.chatCompletion;
    expect(completion.content?.length).toBeGreaterThan(0);
    expect(completion.choices[0]!.message.role).toBe("ASSISTANT");
    expect(completion.choices[0]!.message.content).toBe(completion.content);
    expect(completion.chunks.length).toBeGreaterThan(0);
    const instances = new Set(completion.chunks.map((c) => c.instanceId));
    for (const id of instances) expect(["gateway-docs", "ai-search-concepts"]).toContain(id);
    for (const chunk of completion.chunks) {
      expect(chunk.item?.key).toMatch(/\S/);
      expect(chunk.scoringDetails?.keywordRank).toBeGreaterThanOrEqual(1);
      expect(chunk.scoringDetails?.fusionMethod).toBe("RRF");
      expect(Number.isNaN(Date.parse(chunk.item?.timestamp ?? ""))).toBe(false);
    }
    const scores = completion.chunks.map((c) => c.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(completion.errors).toEqual([]);
  });

  it("surfaces a failing instance as data while the others answer", async () => {
    const { body } = await harness.graphql(AskDocument, {
      input: {
        instanceIds: ["gateway-docs", "no-such-instance"],
        messages: [{ role: "USER", content: "What does the gateway do?" }],
      },
    });
    expect(body.errors).toBeUndefined();
    const completion = body.data!.chatCompletion;
    expect(completion.chunks.length).toBeGreaterThan(0);
    expect(completion.chunks.every((c) => c.instanceId === "gateway-docs")).toBe(true);
    expect(completion.errors).toHaveLength(1);
    expect(completion.errors[0]).toMatchObject({ instanceId: "no-such-instance", instance: null });
    expect(completion.errors[0]!.message).toMatch(/\S/);
  });

  it("maps an unknown namespace to NOT_FOUND", async () => {
    const { body } = await harness.graphql(AskDocument, {
      input: {
        namespace: "no-such-namespace",
        instanceIds: ["gateway-docs"],
        messages: [{ role: "USER", content: "hello" }],
      },
    });
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(body.errors?.[0]?.message).toBe('AI Search has no namespace "no-such-namespace".');
  });
});

describe("bad input never reaches the upstream", () => {
  const valid = {
    instanceIds: ["gateway-docs"],
    messages: [{ role: "USER", content: "hello" }],
  };
  const cases: [string, Record<string, unknown>, string][] = [
    ["empty messages", { ...valid, messages: [] }, "BAD_USER_INPUT"],
    ["no instance ids", { ...valid, instanceIds: [] }, "BAD_USER_INPUT"],
    ["hostile namespace ..", { ...valid, namespace: ".." }, "BAD_USER_INPUT"],
    ["hostile namespace path", { ...valid, namespace: "default/../../x" }, "BAD_USER_INPUT"],
    ["hostile namespace encoded", { ...valid, namespace: "%2e%2e" }, "BAD_USER_INPUT"],
    ["hostile namespace query", { ...valid, namespace: "a?b=1" }, "BAD_USER_INPUT"],
    ["upper-case namespace", { ...valid, namespace: "Default" }, "BAD_USER_INPUT"],
    ["hostile instance id", { ...valid, instanceIds: ["../secrets"] }, "BAD_USER_INPUT"],
    ["newline in instance id", { ...valid, instanceIds: ["a\nb"] }, "BAD_USER_INPUT"],
    ["wrong enum", { ...valid, messages: [{ role: "WIZARD", content: "x" }] }, "BAD_USER_INPUT"],
    [
      "content and parts",
      { ...valid, messages: [{ role: "USER", content: "x", parts: [] }] },
      "BAD_USER_INPUT",
    ],
    [
      "no user message",
      { ...valid, messages: [{ role: "SYSTEM", content: "x" }] },
      "BAD_USER_INPUT",
    ],
    ["threshold out of range", { ...valid, retrieval: { matchThreshold: 7 } }, "BAD_USER_INPUT"],
    [
      "filters that are no conditions",
      { ...valid, retrieval: { filters: [1, 2] } },
      "BAD_USER_INPUT",
    ],
    [
      "a filter string past 64 bytes",
      { ...valid, retrieval: { filters: [{ field: "title", eq: "x".repeat(65) }] } },
      "BAD_USER_INPUT",
    ],
    ["hostile model", { ...valid, model: "x\r\nHost: evil" }, "BAD_USER_INPUT"],
  ];

  // These inputs are wrong on purpose, so they go out as the untyped text of the same operation.
  const ask = print(AskDocument);

  it.each(cases)("%s", async (_name, input, code) => {
    harness.local.resetRequests();
    const { body } = await harness.graphql(ask, { input });
    expect(body.data ?? null).toBeNull();
    const error = body.errors?.[0];
    // Variable coercion failures (wrong enum) are reported by GraphQL itself before execution.
    expect([code, "GRAPHQL_VALIDATION_FAILED"]).toContain(error?.extensions?.code ?? "none");
    expect(JSON.stringify(body)).not.toMatch(/stack|at .*\.ts:\d+/);
    expect(upstreamRequests()).toEqual([]);
  });
});

describe("a caller that goes away", () => {
  it("aborts the upstream request of its mutation", async () => {
    harness.local.setFaults({ latencyMs: 5_000, match: "/chat/completions" });
    try {
      harness.local.resetRequests();
      const aborted = harness.local.waitForAbort("/chat/completions", 10_000);
      const caller = new AbortController();
      const pending = fetch(harness.gateway.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: print(AskDocument),
          variables: {
            input: { instanceIds: ["gateway-docs"], messages: [{ role: "USER", content: "hi" }] },
          },
        }),
        signal: caller.signal,
      }).catch(() => "aborted");
      // Leave only once the upstream has the request, so there is something to abort.
      await vi.waitFor(
        () =>
          expect(harness.local.requests.some((r) => r.path.endsWith("/chat/completions"))).toBe(
            true,
          ),
        { interval: 5 },
      );
      caller.abort();
      expect(await pending).toBe("aborted");
      expect((await aborted).aborted).toBe(true);
    } finally {
      harness.local.setFaults(undefined);
    }
  });
});
