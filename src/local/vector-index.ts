/**
 * Vector retrieval through an OpenAI-compatible `/embeddings` endpoint (e.g. Ollama). Only
 * exists when embeddings are configured: without a real model there are no honest vector
 * scores, and the local server refuses vector/hybrid retrieval instead of inventing them.
 */

import { z } from "zod";
import type { CorpusChunk } from "./documents.ts";

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

/**
 * Chunk vectors of one instance. Corpus chunks are embedded on first use (so start-up stays
 * fast); indexed items hand their vectors in as they complete. A failed embedding is retried
 * on the next query.
 */
export class VectorIndex {
  private readonly chunks = new Map<string, CorpusChunk>();
  private readonly vectors = new Map<string, number[]>();
  private pending: Promise<void> | undefined;

  constructor(
    chunks: readonly CorpusChunk[],
    private readonly client: EmbeddingsClient,
  ) {
    this.add(chunks);
  }

  /** Adds chunks; `vectors` (aligned with `chunks`) spares embedding them again. */
  add(chunks: readonly CorpusChunk[], vectors?: readonly number[][]): void {
    chunks.forEach((chunk, i) => {
      this.chunks.set(chunk.id, chunk);
      const vector = vectors?.[i];
      if (vector) this.vectors.set(chunk.id, vector);
      else this.vectors.delete(chunk.id);
    });
  }

  remove(chunks: readonly CorpusChunk[]): void {
    for (const chunk of chunks) {
      if (this.chunks.get(chunk.id) !== chunk) continue;
      this.chunks.delete(chunk.id);
      this.vectors.delete(chunk.id);
    }
  }

  /** Embeds chunk texts for an item being indexed, before it joins the index. */
  embed(chunks: readonly CorpusChunk[], signal?: AbortSignal): Promise<number[][]> {
    return this.client.embed(
      chunks.map((chunk) => chunk.text),
      signal,
    );
  }

  async find(
    queryVector: readonly number[],
    accept: (chunk: CorpusChunk) => boolean,
    signal?: AbortSignal,
  ): Promise<VectorHit[]> {
    await this.embedMissing(signal);
    const hits: VectorHit[] = [];
    for (const chunk of this.chunks.values()) {
      const vector = this.vectors.get(chunk.id);
      if (!vector || !accept(chunk)) continue;
      const cosine = cosineSimilarity(queryVector, vector);
      hits.push({ chunk, cosine, relevance: Math.max(0, Math.min(1, cosine)) });
    }
    return hits.sort((a, b) => b.cosine - a.cosine || a.chunk.id.localeCompare(b.chunk.id));
  }

  private embedMissing(signal?: AbortSignal): Promise<void> {
    if (!this.pending) {
      const missing = [...this.chunks.values()].filter((chunk) => !this.vectors.has(chunk.id));
      if (missing.length === 0) return Promise.resolve();
      // Not tied to one request's signal: a client hanging up must not poison the shared work.
      this.pending = this.client
        .embed(missing.map((chunk) => chunk.text))
        .then((vectors) => {
          missing.forEach((chunk, i) => {
            if (this.chunks.get(chunk.id) === chunk) this.vectors.set(chunk.id, vectors[i]!);
          });
        })
        .finally(() => {
          this.pending = undefined;
        });
    }
    const pending = this.pending;
    if (!signal) return pending;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
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
