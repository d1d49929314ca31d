/**
 * The gateway's structured logs, end to end: one line per operation with its request id, the
 * refusals before any operation, and never a credential or the question asked.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AskDocument } from "../../../operations/generated/graphql.ts";
import { createLogger } from "../../../src/logger.ts";
import { type GatewayHarness, startGateway } from "../../helpers/gateway.ts";
import { captureLogs } from "../../helpers/logs.ts";
import { openAcknowledged } from "../../helpers/raw-ws.ts";
import { found, input } from "./helpers.ts";

const API_KEY = "observability-test-key-0123456789";
const COOKIE_SECRET = "cookie-secret-0123456789";

describe("structured logs", () => {
  const logs = captureLogs("debug");
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway(
      { streamDelayMs: 0 },
      { AUTH_API_KEYS: API_KEY },
      { logger: logs.logger },
    );
  });
  afterAll(() => harness.close());

  it("writes one line per operation with the request id, and never the credentials or the question", async () => {
    const response = await harness.graphql(
      AskDocument,
      { input },
      {
        "x-request-id": "obs-request-1",
        "x-api-key": API_KEY,
        cookie: `session=${COOKIE_SECRET}`,
      },
    );
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    // Returned to the caller…
    expect(response.headers.get("x-request-id")).toBe("obs-request-1");

    const line = await found(
      () =>
        logs.lines().find((l) => l.msg === "graphql operation" && l.requestId === "obs-request-1"),
      "the operation's log line",
    );
    expect(line).toMatchObject({
      level: "info",
      service: "aisearch-graphql-gateway",
      transport: "http",
      operationName: "Ask",
      operationType: "mutation",
      outcome: "ok",
      client: expect.stringMatching(/^key:/),
    });
    expect(line.durationMs).toBeTypeOf("number");
    expect(
      logs.lines().filter((l) => l.requestId === "obs-request-1" && l.msg === "graphql operation"),
    ).toHaveLength(1);

    // …and handed to the upstream call, which the client sends as `x-request-id`.
    const upstream = logs
      .lines()
      .find((l) => l.msg === "upstream call" && l.endpoint === "chatCompletions");
    expect(upstream).toMatchObject({ requestId: "obs-request-1", outcome: "ok", status: "2xx" });

    const everything = logs.raw();
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain(COOKIE_SECRET);
    expect(everything).not.toContain("must never reach");
  });

  it("gives every operation an id when the caller sends none, and reports error codes", async () => {
    const response = await harness.graphql(
      `query { search(input: { namespace: "no-such-namespace", instanceIds: ["a"], query: "x" }) { searchQuery } }`,
      {},
      { "x-api-key": API_KEY },
    );
    const id = response.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const line = await found(
      () => logs.lines().find((l) => l.msg === "graphql operation" && l.requestId === id),
      "the failed operation's line",
    );
    expect(line.operationType).toBe("query");
    expect(line.operationName).toBeUndefined();
    expect(response.body.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(line).toMatchObject({ outcome: "NOT_FOUND", errorCodes: ["NOT_FOUND"], level: "info" });
  });

  it("logs parse failures and requests refused before any operation", async () => {
    const broken = await harness.graphql("query {", {}, { "x-api-key": API_KEY });
    const parseLine = await found(
      () =>
        logs
          .lines()
          .find(
            (l) =>
              l.msg === "graphql operation" && l.requestId === broken.headers.get("x-request-id"),
          ),
      "the parse failure's line",
    );
    expect(parseLine.outcome).toBe("GRAPHQL_PARSE_FAILED");

    const refused = await harness.graphql(
      AskDocument,
      { input },
      {
        "x-request-id": "obs-refused",
        "x-api-key": "not-a-key-of-this-gateway-000",
      },
    );
    expect(refused.status).toBe(401);
    const line = await found(
      () => logs.lines().find((l) => l.requestId === "obs-refused"),
      "the refusal's line",
    );
    expect(line).toMatchObject({ msg: "graphql request refused", status: 401 });
    expect(logs.raw()).not.toContain("not-a-key-of-this-gateway-000");
  });

  it("tags graphql-ws operations with their own request id", async () => {
    const socket = await openAcknowledged(harness.gateway.graphqlUrl, { apiKey: API_KEY });
    try {
      socket.send({
        id: "1",
        type: "subscribe",
        payload: { query: "query WsProbe { namespaces(first: 1) { totalCount } }" },
      });
      expect((await socket.nextFor("1")).type).toBe("next");
      const line = await found(
        () => logs.lines().find((l) => l.operationName === "WsProbe"),
        "the graphql-ws operation's line",
      );
      expect(line).toMatchObject({ transport: "ws", operationType: "query", outcome: "ok" });
      expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await socket.close();
    }
  });

  it("redacts credential-like fields wherever a log call puts them", () => {
    const seen: string[] = [];
    const probe = createLogger(
      { logLevel: "info", security: { passThroughHeader: "x-my-token" } },
      {
        destination: new Writable({
          write(chunk, _encoding, callback) {
            seen.push(String(chunk));
            callback();
          },
        }),
      },
    );
    probe.info(
      {
        authorization: "Bearer top-level",
        headers: {
          authorization: "Bearer nested",
          "x-api-key": "nested-key",
          "x-cloudflare-api-token": "nested-token",
          "x-my-token": "renamed-pass-through",
          cookie: "a=b",
        },
        req: { headers: { authorization: "Bearer deeper", "set-cookie": "c=d" } },
        credentials: { kind: "token", token: "in-credentials" },
      },
      "probe",
    );
    const text = seen.join("");
    for (const secret of [
      "top-level",
      "nested",
      "nested-key",
      "nested-token",
      "renamed-pass-through",
      "a=b",
      "deeper",
      "c=d",
      "in-credentials",
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain("[redacted]");
  });
});
