/**
 * Retrieval across one or more instances: per-instance keyword (and, when embeddings are
 * configured, vector) ranking, thresholds, boosts, then one fusion over every ranked list.
 *
 * Scores, all in 0..1:
 * - `scoring_details.keyword_score` is the normalised BM25 relevance (see keyword-index.ts),
 *   `vector_score` the cosine similarity clamped at 0. `match_threshold` applies to these, per list and
 *   before fusion, so a boost or a good rank never lets a weak match through.
 * - `chunk.score` is the value the final list is sorted by, so scores always decrease down the
 *   list. With `rrf` it is Σ 1/(60 + rank) over the lists the chunk appears in (ranks 1-based
 *   within an instance, after boosts), divided by its maximum — 1/61 per retrieval method — so
 *   a chunk ranked first by every method scores 1. With `max` it is the chunk's best boosted
 *   relevance. Several instances under rrf therefore interleave by rank.
 * - `boost_by` multiplies a chunk's relevance by up to 1.2 per entry for ranking purposes; the
 *   reported keyword/vector scores stay unboosted.
 * - An unknown instance, or one whose retrieval fails, becomes an `errors` entry; the others
 *   still answer.
 */

import type {
  BoostDirection,
  Chunk,
  FusionMethod,
  InstanceError,
  KeywordMatchMode,
  RetrievalType,
  ScoringDetails,
} from "../upstream/types.ts";
import type { InstanceSettings } from "./corpus.ts";
import type { CorpusChunk } from "./documents.ts";
import { type ChunkPredicate, fieldValue } from "./filters.ts";
import type { KeywordIndex } from "./keyword-index.ts";
import { queryTerms } from "./text.ts";
import type { VectorIndex } from "./vector-index.ts";

const RRF_K = 60;
const BOOST_WEIGHT = 0.2;

export interface SearchableInstance {
  id: string;
  settings: InstanceSettings;
  keyword: KeywordIndex;
  vector?: VectorIndex | undefined;
}

export interface SearchTarget {
  id: string;
  /** Undefined when the namespace has no such instance. */
  instance: SearchableInstance | undefined;
}

export interface RetrievalPlan {
  query: string;
  retrievalType: RetrievalType;
  fusionMethod: FusionMethod;
  /** Undefined: each instance's own setting. */
  keywordMatchMode: KeywordMatchMode | undefined;
  /** Undefined: each instance's own score_threshold. */
  matchThreshold: number | undefined;
  maxNumResults: number;
  contextExpansion: number;
  accept: ChunkPredicate;
  boostBy: { field: string; direction?: BoostDirection | undefined }[];
  /** Embeds the query; required for vector and hybrid retrieval. */
  embedQuery?: (text: string, signal?: AbortSignal) => Promise<number[]>;
}

export interface RetrievalOutcome {
  chunks: Chunk[];
  errors: InstanceError[];
}

interface ScoredEntry {
  chunk: CorpusChunk;
  /** Unboosted 0..1 relevance: reported as keyword_score / vector_score, thresholded. */
  relevance: number;
}

interface RankedEntry extends ScoredEntry {
  rank: number;
  /** Relevance after boost_by, used for ordering and for `max` fusion. */
  boosted: number;
}

interface RankedList {
  kind: "keyword" | "vector";
  entries: RankedEntry[];
}

export async function retrieve(
  namespace: string,
  targets: readonly SearchTarget[],
  plan: RetrievalPlan,
  signal?: AbortSignal,
): Promise<RetrievalOutcome> {
  const errors: InstanceError[] = [];
  const terms = queryTerms(plan.query);
  const wantsVector = plan.retrievalType !== "keyword";
  const wantsKeyword = plan.retrievalType !== "vector";
  let queryVector: Promise<number[]> | undefined;
  if (wantsVector) {
    if (!plan.embedQuery)
      throw new Error("vector retrieval requested without an embeddings client");
    queryVector = plan.embedQuery(plan.query, signal);
    queryVector.catch(() => {}); // awaited per instance below; avoid an unhandled rejection
  }

  const lists: RankedList[] = [];
  for (const target of targets) {
    const instance = target.instance;
    if (!instance) {
      errors.push({
        instance_id: target.id,
        message: `instance "${target.id}" not found in namespace "${namespace}"`,
      });
      continue;
    }
    const threshold = plan.matchThreshold ?? instance.settings.scoreThreshold;
    try {
      if (wantsKeyword) {
        const mode = plan.keywordMatchMode ?? instance.settings.keywordMatchMode;
        const hits = instance.keyword.find(terms, mode, plan.accept);
        lists.push({ kind: "keyword", entries: rank(hits, plan, threshold) });
      }
      if (wantsVector && queryVector) {
        if (!instance.vector) throw new Error("vector index is not available for this instance");
        const hits = await instance.vector.find(await queryVector, plan.accept, signal);
        lists.push({ kind: "vector", entries: rank(hits, plan, threshold) });
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      errors.push({
        instance_id: target.id,
        message: `retrieval failed: ${(error as Error).message}`,
      });
    }
  }
  const methods = (wantsKeyword ? 1 : 0) + (wantsVector ? 1 : 0);
  return { chunks: fuse(lists, plan, methods), errors };
}

/** Applies boosts, assigns 1-based ranks, then drops what falls under the threshold. */
function rank(
  scored: readonly ScoredEntry[],
  plan: RetrievalPlan,
  threshold: number,
): RankedEntry[] {
  const factors = boostFactors(
    scored.map((entry) => entry.chunk),
    plan.boostBy,
  );
  return scored
    .map((entry, i) => ({
      ...entry,
      boosted: Math.min(1, entry.relevance * factors[i]!),
      order: i,
    }))
    .sort((a, b) => b.boosted - a.boosted || a.order - b.order)
    .map(({ chunk, relevance, boosted }, i) => ({ chunk, relevance, boosted, rank: i + 1 }))
    .filter((entry) => entry.relevance >= threshold)
    .slice(0, plan.maxNumResults);
}

function boostFactors(chunks: CorpusChunk[], boostBy: RetrievalPlan["boostBy"]): number[] {
  const factors = chunks.map(() => 1);
  for (const { field, direction } of boostBy) {
    const values = chunks.map((chunk) => fieldValue(chunk, field));
    const numbers = values.filter((value): value is number => typeof value === "number");
    // Upstream's documented default: asc for numeric fields, exists for everything else.
    const effective = direction ?? (numbers.length > 0 ? "asc" : "exists");
    const min = Math.min(...numbers);
    const span = Math.max(...numbers) - min;
    values.forEach((value, i) => {
      let position = 0;
      if (effective === "exists") position = value === undefined ? 0 : 1;
      else if (effective === "not_exists") position = value === undefined ? 1 : 0;
      else if (typeof value === "number") {
        const scaled = span === 0 ? 1 : (value - min) / span;
        position = effective === "desc" ? scaled : 1 - scaled;
      }
      factors[i]! *= 1 + BOOST_WEIGHT * position;
    });
  }
  return factors;
}

interface FusedChunk {
  chunk: CorpusChunk;
  score: number;
  details: ScoringDetails;
}

function fuse(lists: RankedList[], plan: RetrievalPlan, methods: number): Chunk[] {
  const byId = new Map<string, FusedChunk>();
  for (const list of lists) {
    for (const entry of list.entries) {
      let fused = byId.get(entry.chunk.id);
      if (!fused) {
        fused = { chunk: entry.chunk, score: 0, details: { fusion_method: plan.fusionMethod } };
        byId.set(entry.chunk.id, fused);
      }
      if (list.kind === "keyword") {
        fused.details.keyword_rank = entry.rank;
        fused.details.keyword_score = entry.relevance;
      } else {
        fused.details.vector_rank = entry.rank;
        fused.details.vector_score = entry.relevance;
      }
      fused.score =
        plan.fusionMethod === "rrf"
          ? fused.score + (RRF_K + 1) / (methods * (RRF_K + entry.rank))
          : Math.max(fused.score, entry.boosted);
    }
  }
  const bestRelevance = (fused: FusedChunk) =>
    Math.max(fused.details.keyword_score ?? 0, fused.details.vector_score ?? 0);
  return [...byId.values()]
    .sort(
      (a, b) =>
        b.score - a.score ||
        bestRelevance(b) - bestRelevance(a) ||
        a.chunk.instanceId.localeCompare(b.chunk.instanceId) ||
        a.chunk.document.key.localeCompare(b.chunk.document.key) ||
        a.chunk.index - b.chunk.index,
    )
    .slice(0, plan.maxNumResults)
    .map((fused) => toWireChunk(fused, plan.contextExpansion));
}

function toWireChunk({ chunk, score, details }: FusedChunk, contextExpansion: number): Chunk {
  return {
    id: chunk.id,
    instance_id: chunk.instanceId,
    score: Math.min(1, score),
    text: expandedText(chunk, contextExpansion),
    type: "text",
    item: {
      key: chunk.document.key,
      metadata: { ...chunk.document.metadata },
      timestamp: chunk.document.timestamp,
    },
    scoring_details: details,
  };
}

/** The chunk plus `n` neighbours each side, stitched by offsets so overlaps are not repeated. */
function expandedText(chunk: CorpusChunk, n: number): string {
  if (n <= 0) return chunk.text;
  const siblings = chunk.document.chunks;
  const first = siblings[Math.max(0, chunk.index - n)]!;
  const last = siblings[Math.min(siblings.length - 1, chunk.index + n)]!;
  return chunk.document.body.slice(first.startChar, last.endChar);
}
