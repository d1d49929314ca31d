import type { Plugin } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import { GatewayMetrics } from "../../src/server/observability/metrics.ts";
import { useClientAuth } from "../../src/server/plugins/useClientAuth.ts";
import { useHealth } from "../../src/server/plugins/useHealth.ts";
import { useMetricsEndpoint } from "../../src/server/plugins/useMetricsEndpoint.ts";
import { useRateLimit } from "../../src/server/plugins/useRateLimit.ts";
import { useSingleConnectionSse } from "../../src/server/plugins/useSingleConnectionSse.ts";
import { useStaticPages } from "../../src/server/plugins/useStaticPages.ts";
import { createClientVerifier } from "../../src/server/policy/client-auth.ts";

// Yoga runs every later hook of a phase through promise chains once one hook returns a promise,
// so a hook that lets a request pass without waiting for anything must return none. What each
// still refuses is covered by its own tests; here, what it returns when it has nothing to wait for.

type OnRequest = (payload: unknown) => unknown;

function onRequestOf(plugin: Plugin, path: string, headers: Record<string, string> = {}) {
  const request = new Request(`http://gateway.test${path}`, { method: "POST", headers });
  let response: Response | undefined;
  const returned = (plugin.onRequest as OnRequest)({
    request,
    url: new URL(request.url),
    serverContext: {},
    endResponse: (given: Response) => {
      response = given;
    },
  });
  return { returned, response: () => response };
}

const KEY = "key-for-the-hooks-test-0123";
const verifier = createClientVerifier({
  apiKeys: [KEY],
  authRequired: true,
} as unknown as Parameters<typeof createClientVerifier>[0]);

describe("hooks that let an operation pass return no promise", () => {
  it.each<[string, Plugin]>([
    ["useHealth", useHealth({ probeUpstream: async () => {}, probeAtStart: false })],
    [
      "useMetricsEndpoint",
      useMetricsEndpoint({ metrics: new GatewayMetrics({ processMetrics: false }) }),
    ],
    ["useStaticPages", useStaticPages({ chatPage: false })],
    ["useClientAuth (an API key)", useClientAuth({ verifier })],
    ["useSingleConnectionSse (no stream token)", useSingleConnectionSse()],
  ])("%s", (_name, plugin) => {
    const { returned, response } = onRequestOf(plugin, "/graphql", { "x-api-key": KEY });
    expect(returned).toBeUndefined();
    expect(response()).toBeUndefined();
  });

  it("useClientAuth refuses a wrong key at once, with its 401", () => {
    const { returned, response } = onRequestOf(useClientAuth({ verifier }), "/graphql", {
      "x-api-key": "not-a-key-we-issued-0000",
    });
    expect(returned).toBeUndefined();
    expect(response()?.status).toBe(401);
  });

  it("the routes they serve still answer, waiting where they must", async () => {
    const metrics = onRequestOf(
      useMetricsEndpoint({ metrics: new GatewayMetrics({ processMetrics: false }) }),
      "/metrics",
    );
    expect(metrics.response()?.status).toBe(405); // a POST
    const health = onRequestOf(
      useHealth({ probeUpstream: async () => {}, probeAtStart: false }),
      "/readyz",
    );
    expect(health.returned).toBeInstanceOf(Promise);
    await health.returned;
    expect(health.response()?.status).toBe(200);
  });

  it("useRateLimit counts each request, and refuses past the limit", async () => {
    const plugin = useRateLimit({ limit: 1, key: () => "one client" });
    const first = onRequestOf(plugin, "/graphql");
    await first.returned;
    expect(first.response()).toBeUndefined();
    const second = onRequestOf(plugin, "/graphql");
    await second.returned;
    expect(second.response()?.status).toBe(429);
    // A probe is not counted, and waits for nothing.
    expect(onRequestOf(plugin, "/healthz").returned).toBeUndefined();
  });
});
