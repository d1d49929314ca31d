import { expect, vi } from "vitest";
import type { LocalAiSearchOptions } from "../../src/local/server.ts";
import { type GatewayHarness, startGateway } from "./gateway.ts";

/**
 * Starts a gateway and waits until its start-up readiness probe has reached the upstream, so a
 * test counting upstream requests does not count the probe.
 */
export async function startReadyGateway(
  env: Record<string, string> = {},
  localOptions: LocalAiSearchOptions = {},
): Promise<GatewayHarness> {
  const harness = await startGateway(localOptions, env);
  try {
    await vi.waitFor(
      async () => expect((await fetch(`${harness.gateway.url}/readyz`)).status).toBe(200),
      { timeout: 5_000, interval: 20 },
    );
  } catch (error) {
    await harness.close();
    throw error;
  }
  return harness;
}
