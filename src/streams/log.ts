/**
 * A stream's replay log: what a resume needs to get every event from any sequence on, kept
 * small because every stream holds one for as long as it is resumable (`STREAM_RESUME_TTL_MS`).
 *
 * An answer is mostly deltas, and a delta event is a small object around a few characters: kept
 * as they are, forty of them cost more than the text they carry. So the log keeps the deltas'
 * text joined into one string with where each delta ends in it, and the finish reasons (set on
 * one delta or none), and rebuilds a delta event when a resume asks for it. The chunks event and
 * the last event (done, failed, cancelled) are kept as they are: one each per stream. The done
 * event's assembled answer is the same text again, so the log shares that one string.
 *
 * Sequence order (see `RelayedEvent`): the chunks event first (0), then the deltas, then the
 * last event; a stream that failed before its chunks has only the last event.
 */
import type { RelayedEvent } from "./relay.ts";

type Delta = Extract<RelayedEvent, { kind: "delta" }>;
type Chunks = Extract<RelayedEvent, { kind: "chunks" }>;
type Last = Extract<RelayedEvent, { kind: "done" | "failed" }>;

export class StreamLog {
  #chunks: Chunks | undefined;
  /** Every delta's content, joined. */
  #text = "";
  /** Where each delta's content ends in `#text` (a delta's starts where the one before ends). */
  readonly #ends: number[] = [];
  /** Finish reasons by delta index; only deltas that carry one are here (usually the last). */
  #reasons: Map<number, string> | undefined;
  #last: Last | undefined;
  /**
   * The event appended last, as the relay made it: the followers at the end of the log take it
   * from here, so the live path never rebuilds a delta.
   */
  #latest: RelayedEvent | undefined;

  constructor(readonly streamId: string) {}

  /** How many events the log holds: the next event's sequence. */
  get length(): number {
    return (this.#chunks ? 1 : 0) + this.#ends.length + (this.#last ? 1 : 0);
  }

  /** Whether the last event (done or failed) is in. */
  get ended(): boolean {
    return this.#last !== undefined;
  }

  /**
   * Adds the stream's next event. False, and the log unchanged, for an event that is not the
   * next one: a repeat of one it holds, one after a gap, one out of the order above, or any
   * event after the last. The relay never sends those; the log never holds a wrong replay.
   */
  append(event: RelayedEvent): boolean {
    if (this.#last || event.sequence !== this.length || event.streamId !== this.streamId) {
      return false;
    }
    switch (event.kind) {
      case "chunks":
        if (event.sequence !== 0) return false;
        this.#chunks = event;
        break;
      case "delta":
        if (!this.#chunks) return false;
        if (event.finishReason !== null) {
          this.#reasons ??= new Map();
          this.#reasons.set(this.#ends.length, event.finishReason);
        }
        this.#text += event.content;
        this.#ends.push(this.#text.length);
        break;
      case "done": {
        this.#last = event;
        // The same characters as `#text`: keep one string of them, not two.
        const message = event.completion.response.choices[0]?.message;
        if (message && message.content === this.#text) message.content = this.#text;
        break;
      }
      case "failed":
        this.#last = event;
        break;
    }
    this.#latest = event;
    return true;
  }

  /** The event at `sequence`, as it was relayed; undefined past the log's end. */
  at(sequence: number): RelayedEvent | undefined {
    const length = this.length;
    if (sequence < 0 || sequence >= length) return undefined;
    if (sequence === length - 1) return this.#latest;
    // Before the end, a log holds its chunks event first: deltas never come without it.
    if (sequence === 0) return this.#chunks;
    return this.#delta(sequence - 1);
  }

  /** The delta at `index` among the deltas: sequence `index + 1`, after the chunks event. */
  #delta(index: number): Delta {
    const start = index === 0 ? 0 : this.#ends[index - 1]!;
    return {
      streamId: this.streamId,
      sequence: index + 1,
      kind: "delta",
      content: this.#text.slice(start, this.#ends[index]),
      finishReason: this.#reasons?.get(index) ?? null,
    };
  }
}
