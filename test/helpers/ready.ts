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
  for (let attempt = 0; attempt < 100; attempt++) {
    const response = await fetch(`${harness.gateway.url}/readyz`);
    if (response.ok) return harness;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await harness.close();
  throw new Error("the gateway never became ready");
}
