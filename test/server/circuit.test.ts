import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
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

describe("an upstream that keeps failing", () => {
  it("trips the circuit: fail fast with UPSTREAM_UNAVAILABLE, /readyz 503, then recover", async () => {
    await vi.waitFor(async () => expect(await readiness()).toBe(200), { timeout: 5_000 });
    harness.local.setFaults({ errorStatus: 503, match: "/namespaces" });
    expect(await code()).toBe("UPSTREAM_UNAVAILABLE");
    expect(await code()).toBe("UPSTREAM_UNAVAILABLE");
    expect(await readiness()).toBe(503);

    harness.local.resetRequests();
    expect(await code()).toBe("UPSTREAM_UNAVAILABLE");
    expect(harness.local.requests).toEqual([]);

    harness.local.setFaults(undefined);
    // Calls fail fast until CIRCUIT_OPEN_MS has passed; then one trial call closes it again.
    await vi.waitFor(async () => expect(await code()).toBeUndefined(), {
      timeout: 5_000,
      interval: 50,
    });
    expect(await readiness()).toBe(200);
  });
});
