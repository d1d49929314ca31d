/**
 * What any client can send never makes the process write anything but JSON log lines, nor a
 * response carrying a parser's message or a piece of the request.
 */
import { describe, expect, it } from "vitest";
import { closeAfterEach, openAcknowledged } from "../helpers/raw-ws.ts";
import { type GatewayProcess, spawnGateway } from "./gateway-process.ts";

const track = closeAfterEach();
const API_KEY = "process-test-key-0123456789";

/** Every line the process wrote, on stdout and stderr, once it has exited. */
async function everyLine(gateway: GatewayProcess): Promise<string[]> {
  gateway.signal("SIGTERM");
  expect(await gateway.exited()).toEqual({ code: 0, signal: null });
  await gateway.outputClosed();
  return [...gateway.stdout, ...gateway.stderr];
}

function isLogLine(line: string): boolean {
  try {
    const entry = JSON.parse(line);
    return typeof entry.level === "string" && typeof entry.msg === "string";
  } catch {
    return false;
  }
}

describe("bad input, seen from outside the process", () => {
  it("closes an oversized WebSocket frame with 1009 and writes only JSON log lines", async () => {
    const gateway = spawnGateway({ env: { WS_MAX_PAYLOAD_BYTES: "1024" } });
    const ws = track(await openAcknowledged(await gateway.listening()));
    ws.send({
      id: "big",
      type: "subscribe",
      payload: { query: `{ __typename }${" ".repeat(2048)}` },
    });
    expect((await ws.closed).code).toBe(1009);
    const lines = await everyLine(gateway);
    expect(lines.filter((line) => !isLogLine(line))).toEqual([]);
  });

  it.each<{ mode: string; env: Record<string, string>; headers: Record<string, string> }>([
    { mode: "development", env: {}, headers: {} },
    {
      mode: "production",
      env: { NODE_ENV: "production", AUTH_API_KEYS: API_KEY },
      headers: { "x-api-key": API_KEY },
    },
  ])("answers malformed JSON with 400 and a fixed message in $mode", async ({ env, headers }) => {
    const gateway = spawnGateway({ env });
    const graphqlUrl = await gateway.listening();
    const answers = [];
    for (const body of ['{"query": "{ __typename }"', '{"query": secret-fragment}']) {
      const response = await fetch(graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...headers },
        body,
      });
      const text = await response.text();
      expect(response.status).toBe(400);
      expect(text).not.toContain("originalError");
      expect(text).not.toContain('"stack"');
      expect(text).not.toContain("secret-fragment");
      expect(text).not.toContain("__typename");
      const { errors } = JSON.parse(text);
      expect(errors).toHaveLength(1);
      expect(errors[0].extensions.code).toBe("BAD_REQUEST");
      answers.push(errors[0].message);
    }
    // Fixed: the message says the body is not JSON, not what the parser made of it.
    expect(answers[1]).toBe(answers[0]);
    expect(answers[0]).not.toMatch(/position|token|Unexpected|JSON\.parse/i);
  });
});
