/**
 * Finds the answer's references to its sources: `[key]` (as the local AI Search writes them),
 * `[2]` (as an LLM told to cite numbered passages does), or several at once (`[1, 3]`).
 * Anything in brackets that names no retrieved chunk stays plain text.
 */

import type { Chunk } from "./conversation.ts";

/** What names a chunk on its card and in the answer's `[key]` references: its item's key. */
export const chunkKey = (chunk: Chunk) => chunk.item?.key ?? chunk.chunkId;

export type Segment =
  | { kind: "text"; text: string }
  | { kind: "reference"; chunkIndexes: number[]; text: string };

const BRACKETED = /\[([^[\]\n]{1,300})\]/g;

export function segmentAnswer(answer: string, chunks: readonly Chunk[] | undefined): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const match of answer.matchAll(BRACKETED)) {
    const indexes = chunks ? resolve(match[1]!, chunks) : undefined;
    if (!indexes) continue;
    if (match.index > last) segments.push({ kind: "text", text: answer.slice(last, match.index) });
    segments.push({ kind: "reference", chunkIndexes: indexes, text: match[0] });
    last = match.index + match[0].length;
  }
  if (last < answer.length) segments.push({ kind: "text", text: answer.slice(last) });
  return segments;
}

/** The chunk positions a bracket's content names, best chunk first; undefined if any is unknown. */
function resolve(content: string, chunks: readonly Chunk[]): number[] | undefined {
  const indexes: number[] = [];
  for (const part of content.split(/\s*[,;]\s*/)) {
    const index = /^\d{1,3}$/.test(part)
      ? Number(part) - 1
      : chunks.findIndex((chunk) => chunkKey(chunk) === part);
    if (index < 0 || index >= chunks.length) return undefined;
    if (!indexes.includes(index)) indexes.push(index);
  }
  return indexes;
}
