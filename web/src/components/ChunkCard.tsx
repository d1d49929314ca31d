import type { Chunk } from "../conversation.ts";
import { chunkKey } from "../references.ts";

/**
 * One retrieved chunk: with `chunkKey` and the `ChatPageChunk` fragment, the only code that reads
 * chunk fields, so a reshaped `Chunk` changes these places and nothing else.
 */
export function ChunkCard(props: { chunk: Chunk; number: number; anchor: string; cited: boolean }) {
  const { chunk, number, anchor, cited } = props;
  const key = chunkKey(chunk);
  return (
    <li id={anchor} class={cited ? "chunk cited" : "chunk"} tabIndex={-1}>
      <div class="chunk-head">
        <span class="chunk-number" aria-hidden="true">
          {number}
        </span>
        <span class="chunk-key" title={key}>
          {key}
        </span>
      </div>
      <div class="chunk-meta">
        <span class="chunk-instance">{chunk.instanceId}</span>
        <span class="chunk-score" title="Relevance score; higher is better">
          score {chunk.score.toFixed(3)}
        </span>
      </div>
      <p class="chunk-snippet">{snippet(chunk.text)}</p>
    </li>
  );
}

const SNIPPET_CHARS = 220;

/** The passage on one line, cut at a word near the limit. */
export function snippet(text: string): string {
  const flat = text
    .replace(/^#{1,6}\s+/gm, "")
    .replace(/\s+/g, " ")
    .trim();
  if (flat.length <= SNIPPET_CHARS) return flat;
  const cut = flat.slice(0, SNIPPET_CHARS);
  const space = cut.lastIndexOf(" ");
  return `${cut.slice(0, space > SNIPPET_CHARS * 0.6 ? space : SNIPPET_CHARS)}…`;
}
