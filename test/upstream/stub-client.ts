/**
 * Clients pointed at a scripted stub server (stub-server.ts), for the client tests that need
 * exact control over bytes and timing: client-requests.test.ts and client-retries.test.ts.
 */
import { afterEach } from "vitest";
import { AiSearchClient } from "../../src/upstream/client.ts";
import { UpstreamError } from "../../src/upstream/errors.ts";
import type { AiSearchClientOptions } from "../../src/upstream/options.ts";
import { type Stub, type StubHandler, startStub } from "./stub-server.ts";

export const TOKEN = "tok_0123456789abcdef";
export const messages = [{ role: "user" as const, content: "hi" }];
export const completion = {
  id: "c1",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" } }],
  chunks: [],
};

/**
 * Call at a test file's top level. `stub` starts a stub server; `client` a client of it whose
 * retries record their backoff in `sleeps` instead of waiting (jitter fixed at the middle);
 * both are closed after each test. `forgetStubs` drops the stubs started so far, for a test
 * that closes its own.
 */
export function useStubClients() {
  const stubs: Stub[] = [];
  const clients: AiSearchClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(stubs.splice(0).map((s) => s.close()));
  });

  async function stub(handler: StubHandler): Promise<Stub> {
    const s = await startStub(handler);
    stubs.push(s);
    return s;
  }

  function client(baseUrl: string, options: Partial<AiSearchClientOptions> = {}) {
    const sleeps: number[] = [];
    const c = new AiSearchClient({
      baseUrl,
      accountId: "acct",
      credentials: { kind: "token", token: TOKEN },
      ...options,
      retry: {
        random: () => 0.5,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        ...options.retry,
      },
    });
    clients.push(c);
    return { c, sleeps };
  }

  const forgetStubs = () => void stubs.splice(0);
  return { stub, client, forgetStubs };
}

/** The error `promise` rejects with, which must be an UpstreamError. */
export async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UpstreamError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}
