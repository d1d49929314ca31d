/**
 * A minimal OpenAI-compatible server for tests of the LLM and embeddings paths: deterministic
 * answers, recorded request bodies, and a switch to make it fail.
 */

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeOpenAi {
  baseUrl: string;
  bodies: { path: string; body: Record<string, unknown> }[];
  failWith: number | undefined;
  close(): Promise<void>;
}

/** Vocabulary of the fake embedding model: one dimension per word. */
export const EMBEDDING_VOCABULARY = [
  "apples",
  "pears",
  "bananas",
  "citrus",
  "orchards",
  "fruit",
  "trees",
];

export function bagOfWords(text: string): number[] {
  const lower = text.toLowerCase();
  return EMBEDDING_VOCABULARY.map((word) => (lower.includes(word.replace(/s$/, "")) ? 1 : 0));
}

export async function startFakeOpenAi(
  answer = "The passages say apples grow in orchards.",
): Promise<FakeOpenAi> {
  const fake: FakeOpenAi = { baseUrl: "", bodies: [], failWith: undefined, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (part) => {
      raw += part;
    });
    req.on("end", () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      fake.bodies.push({ path: req.url ?? "", body });
      if (fake.failWith !== undefined) {
        res.writeHead(fake.failWith, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "model is overloaded" } }));
        return;
      }
      if (req.url === "/v1/embeddings") {
        const input = body.input as string[];
        res.writeHead(200, { "content-type": "application/json" });
        // Reversed on purpose: clients must order by `index`, not by position.
        const data = input
          .map((text, index) => ({ object: "embedding", index, embedding: bagOfWords(text) }))
          .reverse();
        res.end(JSON.stringify({ object: "list", data, model: body.model }));
        return;
      }
      if (body.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const piece of answer.match(/\S+\s*/g) ?? []) {
          res.write(
            `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`,
          );
        }
        res.end("data: [DONE]\n\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "x",
          object: "chat.completion",
          choices: [{ index: 0, message: { role: "assistant", content: answer } }],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  fake.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
