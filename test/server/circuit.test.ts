import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGateway(
    {},
    { CIRCUIT_FAILURE_THRESHOLD: "2", CIRCUIT_OPEN_MS: "300", UPSTREAM_MAX_RETRIES: "0" },
  );
});
afterAll(() => harness.close());

const readiness = async () => (await fetch(`${harness.gateway.url}/readyz`)).status;
const code = async () =>
  (await harness.graphql("{ namespaces { totalCount } }")).body.errors?.[0]?.extensions?.code;

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("an upstream that keeps failing", () => {
  it("trips the circuit: fail fast with UPSTREAM_UNAVAILABLE, /readyz 503, then recover", async () => {
    await eventually(async () => (await readiness()) === 200);
    harness.local.setFaults({ errorStatus: 503, match: "/namespaces" });
    expect(await code()).toBe("UPSTREAM_UNAVAILABLE");
    expect(await code()).toBe("UPSTREAM_UNAVAILABLE");
    expect(await readiness()).toBe(503);

    harness.local.resetRequests();
    expect(await code()).toBe("UPSTREAM_UNAVAILABLE");
    expect(harness.local.requests).toEqual([]);

    harness.local.setFaults(undefined);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await code()).toBeUndefined();
    expect(await readiness()).toBe(200);
  });
});
