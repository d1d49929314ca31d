/**
 * BM25 keyword retrieval over one instance's chunks with MiniSearch, kept up to date as items
 * are indexed and deleted.
 *
 * Normalisation (what `keyword_score` and `match_threshold` mean): MiniSearch scores a chunk
 * with BM25+ summed over the matched query terms, times the number of matched terms. For a
 * given query and instance that score has a hard ceiling: every query term present with an
 * unboundedly large term frequency, i.e. `q × Σ idf(t) × (k1 + 1 + δ)` over the q distinct
 * query terms. `relevance = bm25 / ceiling` therefore lies in (0, 1], is monotone in the BM25
 * score (ranking is unchanged), does not depend on which other chunks happened to match, and
 * penalises chunks that match only some of the terms. Typical good matches land around
 * 0.2–0.6; 1.0 is unreachable in practice.
 */

import MiniSearch from "minisearch";
import type { KeywordMatchMode } from "../upstream/types.ts";
import type { CorpusChunk } from "./documents.ts";
import { normaliseTerm, splitWords } from "./text.ts";

const BM25 = { k: 1.2, b: 0.7, d: 0.5 };

export interface KeywordHit {
  chunk: CorpusChunk;
  /** Raw BM25+ score as computed by MiniSearch; orders the hits. */
  bm25: number;
  /** bm25 normalised into 0..1 (reported as `keyword_score`), see the module comment. */
  relevance: number;
}

interface IndexedChunk {
  id: string;
  content: string;
}

export class KeywordIndex {
  private readonly index: MiniSearch<IndexedChunk>;
  private readonly chunksById = new Map<string, CorpusChunk>();
  private readonly documentFrequency = new Map<string, number>();

  constructor(chunks: readonly CorpusChunk[] = []) {
    this.index = new MiniSearch<IndexedChunk>({
      fields: ["content"],
      tokenize: splitWords,
      processTerm: (term) => normaliseTerm(term),
      searchOptions: { bm25: BM25 },
    });
    this.add(chunks);
  }

  add(chunks: readonly CorpusChunk[]): void {
    const documents: IndexedChunk[] = [];
    for (const chunk of chunks) {
      // The document title travels with every chunk so a chunk deep inside "Authentication"
      // still matches a query for "authentication".
      const content = `${chunk.document.metadata.title ?? ""}\n${chunk.text}`;
      documents.push({ id: chunk.id, content });
      this.chunksById.set(chunk.id, chunk);
      this.countTerms(content, 1);
    }
    this.index.addAll(documents);
  }

  remove(chunks: readonly CorpusChunk[]): void {
    const present = chunks.filter((chunk) => this.chunksById.get(chunk.id) === chunk);
    for (const chunk of present) {
      this.chunksById.delete(chunk.id);
      this.countTerms(`${chunk.document.metadata.title ?? ""}\n${chunk.text}`, -1);
    }
    // discard() forgets a document without needing its original fields.
    this.index.discardAll(present.map((chunk) => chunk.id));
  }

  private countTerms(content: string, delta: 1 | -1): void {
    const terms = new Set(splitWords(content).map(normaliseTerm));
    for (const term of terms) {
      if (term === null) continue;
      const next = (this.documentFrequency.get(term) ?? 0) + delta;
      if (next > 0) this.documentFrequency.set(term, next);
      else this.documentFrequency.delete(term);
    }
  }

  get size(): number {
    return this.chunksById.size;
  }

  /**
   * Chunks matching `terms` (already normalised with `queryTerms`), best first, ties broken
   * by item key and chunk position so results are reproducible.
   */
  find(
    terms: readonly string[],
    mode: KeywordMatchMode,
    accept: (chunk: CorpusChunk) => boolean = () => true,
  ): KeywordHit[] {
    if (terms.length === 0 || this.size === 0) return [];
    const ceiling = this.ceiling(terms);
    const results = this.index.search(terms.join(" "), {
      combineWith: mode === "and" ? "AND" : "OR",
      // The terms are normalised already; normalising twice could stem a stem.
      tokenize: (query) => query.split(" "),
      processTerm: (term) => term,
      filter: (result) => accept(this.chunksById.get(result.id as string)!),
    });
    return results
      .map((result) => ({
        chunk: this.chunksById.get(result.id as string)!,
        bm25: result.score,
        relevance: Math.min(1, result.score / ceiling),
      }))
      .sort(
        (a, b) =>
          b.bm25 - a.bm25 ||
          a.chunk.document.key.localeCompare(b.chunk.document.key) ||
          a.chunk.index - b.chunk.index,
      );
  }

  private ceiling(terms: readonly string[]): number {
    const total = this.size;
    let idfSum = 0;
    for (const term of terms) {
      const matching = this.documentFrequency.get(term) ?? 0;
      idfSum += Math.log(1 + (total - matching + 0.5) / (matching + 0.5));
    }
    return terms.length * idfSum * (BM25.k + 1 + BM25.d);
  }
}
