/** What the gateway's logs, metrics and tracing tests share: the question they ask, and a wait. */
import { vi } from "vitest";
import type { ChatCompletionInput } from "../../../operations/generated/graphql.ts";

const QUESTION = "Which words of this question must never reach a log line?";
export const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs", "ai-search-concepts"],
  messages: [{ role: "USER", content: QUESTION }],
};

/**
 * `read`'s value once it has one: log lines and spans land a moment after the response.
 * `vi.waitFor` retries while the callback throws, so an absent value throws.
 */
export const found = <T>(read: () => T | undefined | Promise<T | undefined>, what: string) =>
  vi.waitFor(
    async () => {
      const value = await read();
      if (value === undefined) throw new Error(`still waiting for ${what}`);
      return value;
    },
    { timeout: 2_000, interval: 20 },
  );
