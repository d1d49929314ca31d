/**
 * A streamed chat completion (Server-Sent Events) → typed {@link StreamEvent}s.
 *
 * Framing is eventsource-parser's job (split reads, CR/LF/CRLF, comments, multi-line `data:`);
 * this module owns the AI Search semantics on top: one `chunks` event first, OpenAI-style
 * `chat.completion.chunk` deltas, and `[DONE]` as the only successful end.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { UpstreamProtocolError } from "./errors.ts";
import { isObject } from "./options.ts";
import type { Chunk, InstanceError, StreamEvent } from "./types.ts";

export interface ChatStreamOptions {
  /**
   * Longest single event (in UTF-16 units) buffered before giving up; bounds memory against
   * a stream that never sends a line break.
   * @default 8 MiB
   */
  maxEventChars?: number;
}

const DEFAULT_MAX_EVENT_CHARS = 8 * 1024 * 1024;

function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    // The payload is upstream text: keep it out of the error, it may echo user content.
    throw new UpstreamProtocolError("malformed-sse");
  }
}

type ChunksEvent = Extract<StreamEvent, { type: "chunks" }>;

function toChunksEvent(data: string): ChunksEvent {
  const parsed = parseData(data);
  if (Array.isArray(parsed)) return { type: "chunks", chunks: parsed as Chunk[] };
  // Also accept an object form carrying the errors inline.
  if (isObject(parsed) && Array.isArray(parsed.chunks)) {
    const event: ChunksEvent = { type: "chunks", chunks: parsed.chunks as Chunk[] };
    if (Array.isArray(parsed.errors)) event.errors = parsed.errors as InstanceError[];
    return event;
  }
  throw new UpstreamProtocolError("unexpected-shape");
}

/**
 * Converts a delta frame; returns undefined for frames that carry nothing a consumer can use
 * (a role-only opener, a usage-only frame with no choices), so `sequence` counts only what is
 * yielded and stays contiguous.
 */
function toDelta(data: string, sequence: number): StreamEvent | undefined {
  const frame = parseData(data);
  if (!isObject(frame) || !Array.isArray(frame.choices)) {
    throw new UpstreamProtocolError("unexpected-shape");
  }
  const choice: unknown = frame.choices[0];
  if (choice === undefined) return undefined;
  if (!isObject(choice)) throw new UpstreamProtocolError("unexpected-shape");
  const delta = isObject(choice.delta) ? choice.delta : {};
  const content = typeof delta.content === "string" ? delta.content : "";
  const finishReason = typeof choice.finish_reason === "string" ? choice.finish_reason : null;
  if (content === "" && finishReason === null) return undefined;

  const event: StreamEvent = { type: "delta", sequence, content, finishReason };
  if (typeof frame.id === "string") event.id = frame.id;
  if (typeof frame.model === "string") event.model = frame.model;
  if (typeof frame.created === "number") event.created = frame.created;
  return event;
}

type Item = EventSourceMessage | { comment: true };

/**
 * Parses an SSE body into stream events: exactly one `chunks` (an empty one is synthesised if
 * the upstream sends deltas without it), the deltas, then `done` — after which iteration ends
 * without reading further. Throws {@link UpstreamProtocolError} for malformed frames, a second
 * or late `chunks`, an `error` event, or a body that ends without `data: [DONE]`. Errors of
 * `source` itself (timeouts, resets) propagate unchanged for the caller to classify.
 *
 * Per-instance errors travel in their own `event: errors` frame (the chunks data is a bare
 * array) sent before `chunks`, so the chunks event can carry them and still go out the moment
 * it arrives: sources reach the user before the first token, however slow generation is.
 */
export async function* parseChatStream(
  source: AsyncIterable<Uint8Array | string>,
  options: ChatStreamOptions = {},
): AsyncGenerator<StreamEvent, void, undefined> {
  const queue: Item[] = [];
  let failure: UpstreamProtocolError | undefined;
  const parser = createParser({
    onEvent: (message) => queue.push(message),
    onComment: () => queue.push({ comment: true }),
    onError: (error) => {
      // Unknown fields and bad `retry:` values are ignorable by the SSE spec; an overflow is not.
      if (error.type === "max-buffer-size-exceeded") {
        failure ??= new UpstreamProtocolError("malformed-sse");
      }
    },
    maxBufferSize: options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS,
  });
  const decoder = new TextDecoder();
  let sequence = 0;
  let chunksSent = false;
  let earlyErrors: InstanceError[] | undefined;

  // Converting into an array and yielding from it costs far less per event than delegating
  // to a sync generator from this async one.
  const out: StreamEvent[] = [];

  function release(event: ChunksEvent = { type: "chunks", chunks: [] }): void {
    if (chunksSent) return;
    chunksSent = true;
    if (earlyErrors && !event.errors) event.errors = earlyErrors;
    out.push(event);
  }

  function convert(item: Item): boolean {
    const kind = "comment" in item ? "comment" : (item.event ?? "message");
    if (kind === "chunks" && "data" in item) {
      if (chunksSent) throw new UpstreamProtocolError("sse-out-of-order");
      release(toChunksEvent(item.data));
    } else if (kind === "errors" && "data" in item) {
      const errors = parseData(item.data);
      if (!Array.isArray(errors)) throw new UpstreamProtocolError("unexpected-shape");
      // Errors after the chunks went out have no event to ride on; they are dropped.
      if (!chunksSent) earlyErrors = errors as InstanceError[];
    } else if (kind === "error") {
      throw new UpstreamProtocolError("sse-error-event");
    } else if (kind === "message" && "data" in item) {
      const { data } = item;
      // A delta's data is far longer than the terminator: only a short one is trimmed.
      const done = data.length < 16 && data.trim() === "[DONE]";
      const delta = done ? undefined : toDelta(data, sequence);
      if (done || delta) release();
      if (done) {
        out.push({ type: "done" });
        return true;
      }
      if (delta) {
        sequence++;
        out.push(delta);
      }
    }
    // Comments and event names we do not understand are skipped, the SSE way.
    return false;
  }

  /** Converts what the parser queued into `out`; true once `[DONE]` was seen. */
  function drain(): boolean {
    try {
      for (const item of queue) if (!failure && convert(item)) return true;
    } catch (error) {
      // Raised after the events before it are yielded, as a lazy reader would see them.
      failure = error as UpstreamProtocolError;
    } finally {
      queue.length = 0;
    }
    return false;
  }

  // Read by hand rather than `for await`: the loop's binding (and its iterator result) would
  // keep the last read buffer, a slice of the socket's, alive for as long as the generator
  // waits at a `yield`, per stream. Here the buffer only passes through `feed` and is dropped.
  const reads = source[Symbol.asyncIterator]();
  /** Whether the source is to be told to stop when this ends early (as `for await` would). */
  let open = true;
  const feed = (read: IteratorResult<Uint8Array | string>): boolean => {
    if (read.done) {
      open = false;
      return false;
    }
    const piece = read.value;
    parser.feed(typeof piece === "string" ? piece : decoder.decode(piece, { stream: true }));
    return true;
  };
  const readFailed = (error: unknown): never => {
    open = false;
    throw error;
  };
  try {
    while (await reads.next().then(feed, readFailed)) {
      const done = drain();
      // By index: an array iterator per read is one more allocation per event.
      for (let i = 0; i < out.length; i++) yield out[i]!;
      out.length = 0;
      if (failure) throw failure;
      if (done) return;
    }
  } finally {
    if (open) await reads.return?.();
  }
  const tail = decoder.decode();
  if (tail) parser.feed(tail);
  // The SSE spec drops an event the body ends in the middle of. Terminating it instead accepts
  // a server that omits the blank line after `data: [DONE]`; a truncated JSON frame still fails.
  parser.feed("\n\n");
  if (!drain() && !failure) failure = new UpstreamProtocolError("missing-done");
  for (const event of out) yield event;
  if (failure) throw failure;
}
