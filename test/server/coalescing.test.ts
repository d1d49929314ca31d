import { afterAll, beforeAll, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";

let harness: GatewayHarness;

beforeAll(async () => {
  harness = await startGateway();
});
afterAll(() => harness.close());

it("answers identical concurrent operations of different callers with one upstream read", async () => {
  harness.local.setFaults({ latencyMs: 150, match: "/namespaces" });
  try {
    harness.local.resetRequests();
    const results = await Promise.all(
      Array.from({ length: 3 }, () => harness.graphql("{ namespaces(first: 5) { totalCount } }")),
    );
    for (const { body } of results) expect(body.errors).toBeUndefined();
    // The readiness probe lists namespaces too, one at a time; only the operations' page counts.
    const listings = harness.local.requests.filter(
      (r) => r.path.endsWith("/namespaces") && r.query.includes("per_page=6"),
    );
    expect(listings).toHaveLength(1);
  } finally {
    harness.local.setFaults(undefined);
  }
});
