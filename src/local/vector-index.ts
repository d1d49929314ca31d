/**
 * Vector retrieval through an OpenAI-compatible `/embeddings` endpoint (e.g. Ollama). Only
 * exists when embeddings are configured: without a real model there are no honest vector
 * scores, and the local server refuses vector/hybrid retrieval instead of inventing them.
 */

import { z } from "zod";
import type { CorpusChunk } from "./corpus.ts";

export interface EmbeddingsConfig {
  baseUrl: string;
  model: string;
  apiKey?: string;
}

export interface VectorHit {
  chunk: CorpusChunk;
  /** Cosine similarity; orders the hits. */
  cosine: number;
  /** Cosine clamped into 0..1 (reported as `vector_score`), comparable with keyword relevance. */
  relevance: number;
}

const embeddingsResponse = z.object({
  data: z.array(z.object({ embedding: z.array(z.number()), index: z.number().int().optional() })),
});

const BATCH_SIZE = 64;

export class EmbeddingsClient {
  constructor(private readonly config: EmbeddingsConfig) {}

  get model(): string {
    return this.config.model;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<number[][]> {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += BATCH_SIZE) {
      vectors.push(...(await this.embedBatch(texts.slice(start, start + BATCH_SIZE), signal)));
    }
    return vectors;
  }

  private async embedBatch(input: readonly string[], signal?: AbortSignal): Promise<number[][]> {
    const url = `${this.config.baseUrl.replace(/\/+$/, "")}/embeddings`;
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
      },
      body: JSON.stringify({ model: this.config.model, input }),
      signal: signal ?? null,
    });
    if (!response.ok) {
      throw new Error(`embeddings endpoint answered ${response.status} ${response.statusText}`);
    }
    const parsed = embeddingsResponse.safeParse(await response.json());
    if (!parsed.success || parsed.data.data.length !== input.length) {
      throw new Error("embeddings endpoint returned an unexpected body");
    }
    // Some servers return entries out of order; `index` is authoritative when present.
    const ordered = [...parsed.data.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return ordered.map((entry) => entry.embedding);
  }
}

export class VectorIndex {
  private vectors: Promise<number[][]> | undefined;

  constructor(
    private readonly chunks: readonly CorpusChunk[],
    private readonly client: EmbeddingsClient,
  ) {}

  async find(
    queryVector: readonly number[],
    accept: (chunk: CorpusChunk) => boolean,
    signal?: AbortSignal,
  ): Promise<VectorHit[]> {
    const vectors = await this.chunkVectors(signal);
    const hits: VectorHit[] = [];
    this.chunks.forEach((chunk, i) => {
      if (!accept(chunk)) return;
      const cosine = cosineSimilarity(queryVector, vectors[i]!);
      hits.push({ chunk, cosine, relevance: Math.max(0, Math.min(1, cosine)) });
    });
    return hits.sort((a, b) => b.cosine - a.cosine || a.chunk.id.localeCompare(b.chunk.id));
  }

  /** Embeds the whole instance on first use, then reuses it; a failure is retried next time. */
  private chunkVectors(signal?: AbortSignal): Promise<number[][]> {
    if (!this.vectors) {
      // Not tied to one request's signal: a client hanging up must not poison the shared cache.
      this.vectors = this.client.embed(this.chunks.map((chunk) => chunk.text));
      this.vectors.catch(() => {
        this.vectors = undefined;
      });
    }
    const vectors = this.vectors;
    if (!signal) return vectors;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      vectors.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }
}

export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`embedding sizes differ (${a.length} vs ${b.length})`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    normA += a[i]! * a[i]!;
    normB += b[i]! * b[i]!;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}
