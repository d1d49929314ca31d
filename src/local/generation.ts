/**
 * Producing the assistant's answer from retrieved chunks: either an OpenAI-compatible LLM
 * (e.g. a local Ollama) given the chunks as context, or — with no LLM configured — an
 * extractive answer quoting the sentences of the top chunks that best overlap the query.
 * The extractive path is deterministic: the same request always yields the same text, which
 * is what lets a streamed answer be compared with its non-streamed twin.
 */

import { createParser } from "eventsource-parser";
import { z } from "zod";
import type { ChatMessage, Chunk } from "../upstream/types.ts";
import { messageText } from "./schemas.ts";
import { queryTerms } from "./text.ts";

export const EXTRACTIVE_MODEL = "local/extractive";
const SOURCE_CHUNKS = 3;
const MAX_SENTENCES = 3;

export interface LlmConfig {
  baseUrl: string;
  model: string;
  apiKey?: string;
}

/** The LLM endpoint failed or answered something unusable. */
export class LlmError extends Error {}

export function extractiveAnswer(query: string, chunks: readonly Chunk[]): string {
  if (chunks.length === 0) {
    return (
      `I could not find anything in the indexed content that matches "${query}". ` +
      "Try other keywords, a lower match_threshold, or different instance_ids or filters."
    );
  }
  const terms = new Set(queryTerms(query));
  const candidates: {
    sentence: string;
    overlap: number;
    rank: number;
    position: number;
    key: string;
  }[] = [];
  chunks.slice(0, SOURCE_CHUNKS).forEach((chunk, rank) => {
    sentencesOf(chunk.text).forEach((sentence, position) => {
      const overlap = queryTerms(sentence).filter((term) => terms.has(term)).length;
      if (overlap > 0) candidates.push({ sentence, overlap, rank, position, key: keyOf(chunk) });
    });
  });

  const seen = new Set<string>();
  const chosen = candidates
    .sort((a, b) => b.overlap - a.overlap || a.rank - b.rank || a.position - b.position)
    .filter(({ sentence }) => !seen.has(sentence) && seen.add(sentence))
    .slice(0, MAX_SENTENCES)
    // Read in document order: best chunk first, sentences as they appear in it.
    .sort((a, b) => a.rank - b.rank || a.position - b.position);

  const top = chunks[0]!;
  const quoted =
    chosen.length > 0
      ? chosen.map(({ sentence, key }) => `${sentence} [${key}]`).join(" ")
      : `${sentencesOf(top.text)[0] ?? excerpt(top.text)} [${keyOf(top)}]`;
  const sources = [
    ...new Set(
      chunks.slice(0, SOURCE_CHUNKS).map((chunk) => `${keyOf(chunk)} (${chunk.instance_id})`),
    ),
  ];
  return `Here is what the indexed content says:\n\n${quoted}\n\nSources: ${sources.join(", ")}`;
}

function keyOf(chunk: Chunk): string {
  return chunk.item?.key ?? chunk.id;
}

/**
 * Prose sentences of a chunk: code blocks and headings dropped, inline markdown flattened, and
 * fragments cut off by the chunk window (opening without a capital, or no closing punctuation)
 * skipped.
 */
export function sentencesOf(text: string): string[] {
  const prose = text
    .replace(/```[\s\S]*?(```|$)/g, "\n\n")
    .replace(/^[ \t]*#{1,6}[ \t].*$/gm, "\n")
    .replace(/^[ \t]*\|.*$/gm, "\n")
    // A list item is its own paragraph, whatever the line wrapping says.
    .replace(/^[ \t]*(?:[-*+]|\d+\.)[ \t]+/gm, "\n\n")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[*_`]+/g, "");
  const sentences: string[] = [];
  const startsMidText = /^[^\s#`|]/.test(text);
  let first = true;
  for (const paragraph of prose.split(/\n[ \t]*\n/)) {
    const flat = paragraph.replace(/\s+/g, " ").trim();
    for (const sentence of flat.split(/(?<=[.!?])\s+(?=["'(]?[A-Za-z0-9])/)) {
      // Only the chunk's opening words can be a fragment cut by the chunk window; elsewhere a
      // lower-case start is legitimate ("urql is a small client").
      const opensChunk = first && startsMidText;
      first = false;
      const complete =
        /[.!?]["')]?$/.test(sentence) && (!opensChunk || /^["'(]?[A-Z0-9]/.test(sentence));
      if (complete && sentence.split(" ").length >= 4) sentences.push(sentence);
    }
  }
  return sentences;
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

/** The conversation sent to the LLM: a system prompt with the chunks, then the user's turns. */
export function llmMessages(messages: readonly ChatMessage[], chunks: readonly Chunk[]) {
  const context = chunks
    .map((chunk, i) => `[${i + 1}] ${keyOf(chunk)} (instance ${chunk.instance_id})\n${chunk.text}`)
    .join("\n\n");
  const system =
    "You answer questions using only the numbered context passages below, retrieved from an AI " +
    "Search index. Cite the passages you use by their key in square brackets. If the passages do " +
    "not contain the answer, say so plainly instead of guessing.\n\n" +
    (context || "(no passages matched the question)");
  const conversation = messages
    .filter((message) => message.role !== "tool")
    .map((message) => ({
      role: message.role === "developer" ? "system" : message.role,
      content: messageText(message),
    }))
    .filter((message) => message.content.length > 0);
  return [{ role: "system", content: system }, ...conversation];
}

const completionResponse = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
});

const deltaFrame = z.object({
  choices: z.array(z.object({ delta: z.object({ content: z.string().nullish() }).optional() })),
});

async function postChat(
  config: LlmConfig,
  body: Record<string, unknown>,
  signal: AbortSignal,
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${config.baseUrl.replace(/\/+$/, "")}/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
      },
      body: JSON.stringify({ model: config.model, ...body }),
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new LlmError(`the LLM endpoint is unreachable: ${(error as Error).message}`);
  }
  if (!response.ok) {
    const detail = (await response.text().catch(() => "")).slice(0, 200);
    throw new LlmError(
      `the LLM endpoint answered HTTP ${response.status}${detail ? `: ${detail}` : ""}`,
    );
  }
  return response;
}

export async function llmComplete(
  config: LlmConfig,
  messages: ReturnType<typeof llmMessages>,
  signal: AbortSignal,
): Promise<string> {
  const response = await postChat(config, { messages, stream: false }, signal);
  const parsed = completionResponse.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new LlmError("the LLM endpoint returned an unexpected body");
  return parsed.data.choices[0]!.message.content ?? "";
}

/** Resolves once the LLM accepted the request, so HTTP failures can still become a 502. */
export async function llmStream(
  config: LlmConfig,
  messages: ReturnType<typeof llmMessages>,
  signal: AbortSignal,
): Promise<AsyncIterable<string>> {
  const response = await postChat(config, { messages, stream: true }, signal);
  if (!response.body) throw new LlmError("the LLM endpoint returned no body");
  return relayDeltas(response.body);
}

async function* relayDeltas(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const pending: string[] = [];
  let done = false;
  const parser = createParser({
    onEvent(event) {
      if (event.data === "[DONE]") {
        done = true;
        return;
      }
      const parsed = deltaFrame.safeParse(safeJson(event.data));
      if (!parsed.success) throw new LlmError("the LLM stream sent a malformed frame");
      const content = parsed.data.choices[0]?.delta?.content;
      if (content) pending.push(content);
    },
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      parser.feed(decoder.decode(value, { stream: true }));
      yield* pending.splice(0);
      if (done) return;
    }
  } finally {
    // Stops the LLM from generating for a client that is no longer listening.
    await reader.cancel().catch(() => {});
  }
  if (!done) throw new LlmError("the LLM stream ended without [DONE]");
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
