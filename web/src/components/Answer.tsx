import type { Chunk } from "../conversation.ts";
import { chunkKey, type Segment } from "../references.ts";

/** The answer's text, with each reference to a source made a link to that source's card. */
export function Answer(props: {
  /** The answer as `segmentAnswer` splits it against `chunks`. */
  segments: readonly Segment[];
  chunks: readonly Chunk[] | undefined;
  anchorOf: (index: number) => string;
  streaming: boolean;
}) {
  const { segments, chunks, anchorOf, streaming } = props;
  return (
    <div class="answer-text">
      {segments.map((segment, i) =>
        segment.kind === "text" ? (
          segment.text
        ) : (
          <span class="references" key={i}>
            {segment.chunkIndexes.map((index) => (
              <a
                key={index}
                class="reference"
                href={`#${anchorOf(index)}`}
                aria-label={`source ${index + 1}: ${chunkKey(chunks![index]!)}`}
                title={chunkKey(chunks![index]!)}
              >
                {index + 1}
              </a>
            ))}
          </span>
        ),
      )}
      {streaming ? <span class="caret" aria-hidden="true" /> : null}
    </div>
  );
}
