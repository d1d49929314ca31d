/**
 * Splitting documents into overlapping chunks.
 *
 * Unit: one "token" is one whitespace-separated word. Real tokenizers produce roughly 1.3
 * tokens per English word, so `chunk_size: 256` yields chunks somewhat longer than upstream's;
 * we accept that because word windows are deterministic, dependency-free and easy to reason
 * about in tests. Chunk text is sliced from the original document (not re-joined words), so
 * line breaks and markdown survive and neighbouring chunks can be stitched back together by
 * character offsets (see `context_expansion`).
 */

export interface ChunkSpan {
  /** 0-based position of the chunk in its document. */
  index: number;
  text: string;
  /** Character offsets into the document body: text === body.slice(startChar, endChar). */
  startChar: number;
  endChar: number;
  wordCount: number;
}

export interface ChunkingSettings {
  chunkSize: number;
  chunkOverlap: number;
}

export function validateChunkingSettings({ chunkSize, chunkOverlap }: ChunkingSettings): void {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new RangeError(`chunk_size must be a positive integer, got ${chunkSize}`);
  }
  if (!Number.isInteger(chunkOverlap) || chunkOverlap < 0 || chunkOverlap >= chunkSize) {
    throw new RangeError(
      `chunk_overlap must be an integer in [0, chunk_size), got ${chunkOverlap} with chunk_size ${chunkSize}`,
    );
  }
}

export function chunkText(body: string, settings: ChunkingSettings): ChunkSpan[] {
  validateChunkingSettings(settings);
  const words = [...body.matchAll(/\S+/g)].map((match) => ({
    start: match.index,
    end: match.index + match[0].length,
  }));
  const spans: ChunkSpan[] = [];
  if (words.length === 0) return spans;

  const step = settings.chunkSize - settings.chunkOverlap;
  for (let first = 0; ; first += step) {
    const last = Math.min(first + settings.chunkSize, words.length) - 1;
    const startChar = words[first]!.start;
    const endChar = words[last]!.end;
    spans.push({
      index: spans.length,
      text: body.slice(startChar, endChar),
      startChar,
      endChar,
      wordCount: last - first + 1,
    });
    // Stopping at the first window that reaches the end avoids a trailing chunk made only of
    // words the previous chunk already contains.
    if (last === words.length - 1) break;
  }
  return spans;
}
