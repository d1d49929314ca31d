import { useState } from "preact/hooks";
import { isStreaming, type Turn } from "../conversation.ts";
import { segmentAnswer } from "../references.ts";
import { Answer } from "./Answer.tsx";
import { ChunkCard } from "./ChunkCard.tsx";

/** One question and its answer, with the answer's state, its sources and any instance errors. */
export function TurnView(props: { turn: Turn; onRetry: (turn: Turn) => void }) {
  const { turn, onRetry } = props;
  const streaming = isStreaming(turn);
  const anchorOf = (index: number) => `turn-${turn.id}-source-${index + 1}`;
  // Segmented once per render: the answer's links and the cited sources come from the same pass.
  const segments = segmentAnswer(turn.answer, turn.chunks);
  const cited = new Set(
    segments.flatMap((segment) => (segment.kind === "reference" ? segment.chunkIndexes : [])),
  );
  return (
    <li class="turn" data-status={turn.status}>
      <div class="question">
        <h2 class="visually-hidden">Question</h2>
        <p>{turn.question}</p>
      </div>
      <article class="reply" aria-label="Answer">
        {turn.status === "retrieving" ? (
          <p class="progress">
            <span class="spinner" aria-hidden="true" />
            Searching {turn.instanceIds.join(", ")}…
          </p>
        ) : null}
        {/* Polite and busy while streaming: assistive technology reads the answer once it settles. */}
        <div aria-live="polite" aria-busy={streaming}>
          {turn.answer || turn.status === "writing" ? (
            <Answer
              segments={segments}
              chunks={turn.chunks}
              anchorOf={anchorOf}
              streaming={streaming}
            />
          ) : null}
        </div>
        <TurnOutcome turn={turn} onRetry={onRetry} />
        {turn.instanceErrors.length > 0 ? (
          <ul class="instance-errors" aria-label="Instances that failed">
            {turn.instanceErrors.map((error) => (
              <li key={error.instanceId}>
                <strong>{error.instanceId}</strong> could not be searched: {error.message}
              </li>
            ))}
          </ul>
        ) : null}
        {turn.chunks ? <Sources chunks={turn.chunks} cited={cited} anchorOf={anchorOf} /> : null}
      </article>
    </li>
  );
}

/** Cards shown before "Show all": the best few, plus every one the answer cites. */
const FIRST_SOURCES = 3;

function Sources(props: {
  chunks: NonNullable<Turn["chunks"]>;
  cited: ReadonlySet<number>;
  anchorOf: (index: number) => string;
}) {
  const { chunks, cited, anchorOf } = props;
  const [expanded, setExpanded] = useState(false);
  const shown = chunks
    .map((chunk, index) => ({ chunk, index }))
    .filter(({ index }) => expanded || index < FIRST_SOURCES || cited.has(index));
  const hidden = chunks.length - shown.length;
  return (
    <section class="sources" aria-label="Sources">
      <h3>
        {chunks.length === 0
          ? "No passages matched"
          : `Sources · ${chunks.length} passage${chunks.length === 1 ? "" : "s"}`}
      </h3>
      <ol class="chunks">
        {shown.map(({ chunk, index }) => (
          <ChunkCard
            key={`${chunk.instanceId}/${chunk.chunkId}`}
            chunk={chunk}
            number={index + 1}
            anchor={anchorOf(index)}
            cited={cited.has(index)}
          />
        ))}
      </ol>
      {hidden > 0 || expanded ? (
        <button
          type="button"
          class="link"
          aria-expanded={expanded}
          onClick={() => setExpanded(!expanded)}
        >
          {expanded
            ? "Show fewer passages"
            : `Show ${hidden} more passage${hidden === 1 ? "" : "s"}`}
        </button>
      ) : null}
    </section>
  );
}

function TurnOutcome(props: { turn: Turn; onRetry: (turn: Turn) => void }) {
  const { turn, onRetry } = props;
  switch (turn.status) {
    case "resuming":
      return (
        <p class="outcome progress" role="status">
          <span class="spinner" aria-hidden="true" />
          Connection lost. Reconnecting to pick the answer up where it stopped…
        </p>
      );
    case "writing":
      return turn.resumes > 0 ? (
        <p class="outcome muted" role="status">
          Resumed after a lost connection.
        </p>
      ) : null;
    case "done":
      return (
        <>
          {turn.resumes > 0 ? (
            <p class="outcome muted resumed">
              Resumed after a lost connection; nothing was missed.
            </p>
          ) : null}
          {turn.model ? <p class="outcome muted">Answered by {turn.model}</p> : null}
        </>
      );
    case "stopped":
      return <p class="outcome muted">Stopped. The rest of this answer was not written.</p>;
    case "interrupted":
    case "failed": {
      const failure = turn.failure!;
      return (
        <div class="outcome alert" role="alert">
          <p>
            {turn.status === "interrupted"
              ? `${failure.message} The answer was interrupted.`
              : failure.message}{" "}
            {turn.status === "failed" ? <code>{failure.code}</code> : null}
          </p>
          {failure.retryable ? (
            <button type="button" class="secondary" onClick={() => onRetry(turn)}>
              Ask again
            </button>
          ) : null}
        </div>
      );
    }
    default:
      return null;
  }
}
