import type { Chunk } from "../conversation.ts";
import { chunkKey, segmentAnswer } from "../references.ts";

/** The answer's text, with each reference to a source made a link to that source's card. */
export function Answer(props: {
  text: string;
  chunks: readonly Chunk[] | undefined;
  anchorOf: (index: number) => string;
  streaming: boolean;
}) {
  const { text, chunks, anchorOf, streaming } = props;
  return (
    <div class="answer-text">
      {segmentAnswer(text, chunks).map((segment, i) =>
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
