/**
 * What bench/client.ts compares: the same chat completion asked through AiSearchClient, a raw
 * undici request with no parsing (the floor), raw undici with the least parsing a correct
 * client does, and plain `fetch`.
 */

import { performance } from "node:perf_hooks";
import { createParser } from "eventsource-parser";
import type { Pool } from "undici";
import type { AiSearchClient } from "../src/upstream/client.ts";

const BODY = {
  messages: [{ role: "user" as const, content: "How are chunks ranked and fused?" }],
  ai_search_options: { instance_ids: ["gateway-docs", "ai-search-concepts"] },
};

/** One JSON completion; resolves with the answer text (or its length for the raw floor). */
type JsonAsk = () => Promise<unknown>;
/** One streamed completion; resolves with ms to the first delta, measured from `start`. */
type StreamAsk = (start: number) => Promise<number>;

export interface Target {
  name: string;
  json: JsonAsk;
  stream: StreamAsk;
}

/** The ways of asking compared, each bound to the same local AI Search and credentials. */
export function targets(
  baseUrl: string,
  pool: Pool,
  client: AiSearchClient,
  { account, token }: { account: string; token: string },
): Target[] {
  const url = new URL(
    `${baseUrl}/accounts/${account}/ai-search/namespaces/default/chat/completions`,
  );
  const headers = {
    authorization: `Bearer ${token}`,
    "content-type": "application/json",
    accept: "application/json",
  };
  const jsonBody = JSON.stringify(BODY);
  const streamBody = JSON.stringify({ ...BODY, stream: true });
  const sseHeaders = { ...headers, accept: "text/event-stream" };
  // The two baselines send exactly these requests; only what they do with the answer differs.
  const postJson = () =>
    pool.request({ path: url.pathname, method: "POST", headers, body: jsonBody });
  const postStream = () =>
    pool.request({ path: url.pathname, method: "POST", headers: sseHeaders, body: streamBody });
  return [
    {
      name: "raw undici",
      json: async () => {
        const res = await postJson();
        return (await res.body.text()).length;
      },
      stream: async (start) => {
        const res = await postStream();
        let first = 0;
        for await (const part of res.body) {
          if (!first && (part as Buffer).includes('"delta":{"content"'))
            first = performance.now() - start;
        }
        return first;
      },
    },
    {
      // The least a correct client must do: parse the JSON / the SSE frames, nothing else.
      name: "undici + parse",
      json: async () => {
        const res = await postJson();
        return (JSON.parse(await res.body.text()) as { choices: unknown[] }).choices.length;
      },
      stream: async (start) => {
        const res = await postStream();
        let first = 0;
        const parser = createParser({
          onEvent: (event) => {
            if (event.data === "[DONE]") return;
            const data = JSON.parse(event.data);
            if (!first && event.event === undefined && data.choices?.[0]?.delta?.content) {
              first = performance.now() - start;
            }
          },
        });
        const decoder = new TextDecoder();
        for await (const part of res.body)
          parser.feed(decoder.decode(part as Buffer, { stream: true }));
        return first;
      },
    },
    {
      name: "fetch",
      json: async () => {
        const res = await fetch(url, { method: "POST", headers, body: jsonBody });
        return ((await res.json()) as { choices: unknown[] }).choices.length;
      },
      stream: async (start) => {
        const res = await fetch(url, { method: "POST", headers: sseHeaders, body: streamBody });
        const decoder = new TextDecoder();
        let first = 0;
        for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (!first && decoder.decode(part, { stream: true }).includes('"delta":{"content"')) {
            first = performance.now() - start;
          }
        }
        return first;
      },
    },
    {
      name: "AiSearchClient",
      json: async () => (await client.chatCompletions("default", BODY)).choices.length,
      stream: async (start) => {
        let first = 0;
        const stream = await client.streamChatCompletions("default", BODY);
        for await (const event of stream) {
          if (!first && event.type === "delta") first = performance.now() - start;
        }
        return first;
      },
    },
  ];
}
