/**
 * Streamed results over SSE (graphql-sse's distinct-connections mode, what Yoga answers a
 * subscription with when the client accepts `text/event-stream`), written with less work per
 * event than Yoga's own SSE processor and the same bytes on the wire.
 *
 * Yoga's processor encodes four pieces per event with a `TextEncoder`, queues them on a WHATWG
 * `ReadableStream` (a pull, a controller and a promise chain per event), which the node adapter
 * then reads back through an async iterator before it writes to the response. Here the body is
 * a Node `Readable`, which the node adapter pipes into the response, and each event is one
 * string built once and written straight to the response (see `EventStream`): one `res.write`
 * per event, and the response's own backpressure (no event is pulled until it drains).
 *
 * Only the hot case is taken over: an async-iterable result that Yoga chose its SSE processor
 * for. Single results (a refusal or a validation error answered as an event stream) stay with
 * Yoga's processor, which works out their status and headers; an event carrying errors or
 * extensions is serialised by Yoga's own regular processor, which strips the internal
 * extensions (`http`, `unexpected`) the way Yoga's SSE writer does.
 */
import { Readable, type Writable } from "node:stream";
import type { ExecutionResult } from "graphql";
import { getSSEProcessor, isAsyncIterable, type Plugin, processRegularResult } from "graphql-yoga";

export interface EventStreamResultsOptions {
  /**
   * How often a live stream sends a comment line (`:`) to keep proxies from closing it. Yoga's
   * default, and its shorter interval under `NODE_ENV=test`, so tests see pings as before.
   * @default 12_000 (300 when `NODE_ENV=test`)
   */
  pingIntervalMs?: number;
}

/** The headers Yoga's SSE processor answers a stream with. */
const HEADERS = {
  "Content-Type": "text/event-stream",
  Connection: "keep-alive",
  "Cache-Control": "no-cache",
  "Content-Encoding": "none",
} as const;

const PING = ":\n\n";
const COMPLETE = "event: complete\ndata:\n\n";

type FetchAPI = Parameters<ReturnType<typeof getSSEProcessor>>[1];
type Result = ExecutionResult & { stringify?: (result: ExecutionResult) => string };

/** One event's `data`, as Yoga's SSE writer serialises it. */
function eventData(result: Result, fetchAPI: FetchAPI): string | Promise<string> {
  // The common event: nothing for Yoga to strip, so its serialisation is this one call.
  if (!result.errors?.length && !result.extensions?.http) {
    return (result.stringify ?? JSON.stringify)(result);
  }
  return (processRegularResult(result, fetchAPI, "application/json") as Response).text();
}

/**
 * A subscription's events as SSE, pulled from `iterator` one at a time as the response can
 * take them. Destroyed (the client went away, or the response closed) it returns the iterator,
 * which ends the operation upstream, as Yoga's stream does when it is cancelled.
 *
 * Piped (what the node adapter does with a Readable body) it writes each event straight to the
 * response instead of through its own buffer: one `write` per event, no `Buffer` per event and
 * no ticks between pushing a chunk and the pipe writing it, which at thousands of streams was
 * a good part of the relaying cost. Backpressure is the response's own, as with a pipe: no
 * event is pulled while it needs draining. The last event, `event: complete` and the chunked
 * terminator go out in one `end`, so one write instead of three. Read as a Readable (a fetch
 * `Response` body outside a node server) it pushes the same strings.
 */
class EventStream extends Readable {
  readonly #iterator: AsyncIterator<Result>;
  readonly #fetchAPI: FetchAPI;
  #pulling = false;
  #started = false;
  #ping: NodeJS.Timeout | undefined;
  /** The response, once piped to it. */
  #sink: Writable | undefined;

  constructor(iterator: AsyncIterator<Result>, fetchAPI: FetchAPI, pingIntervalMs: number) {
    super();
    this.#iterator = iterator;
    this.#fetchAPI = fetchAPI;
    this.#ping = setInterval(() => {
      if (this.destroyed) return;
      // Anything already waiting to go out keeps the connection busy enough.
      if (this.#sink) {
        if (this.#sink.writableLength === 0) this.#sink.write(PING);
      } else if (this.readableLength === 0) this.push(PING);
    }, pingIntervalMs);
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T): T {
    const sink = destination as unknown as Writable;
    this.#sink = sink;
    this.#started = true;
    sink.on("drain", () => this.#pull());
    sink.once("close", () => this.destroy());
    // First a ping, as Yoga sends: some browsers hold a fetch until a body byte arrives.
    sink.write(PING);
    this.#pull();
    return destination;
  }

  override _read(): void {
    if (!this.#started) {
      this.#started = true;
      this.push(PING);
    }
    this.#pull();
  }

  #pull(): void {
    if (this.#pulling || this.destroyed) return;
    this.#pulling = true;
    this.#iterator.next().then(
      (step) => this.#write(step),
      (error: unknown) => this.destroy(error as Error),
    );
  }

  #write(step: IteratorResult<Result>): void {
    if (this.destroyed) return;
    const done = step.done === true;
    const data = step.value == null ? undefined : eventData(step.value, this.#fetchAPI);
    if (typeof data !== "object") {
      this.#advance(data, done);
      return;
    }
    // Rare (an event with errors): waited for, so events keep their order.
    data.then(
      (text) => this.#advance(text, done),
      (error: unknown) => this.destroy(error as Error),
    );
  }

  #advance(data: string | undefined, done: boolean): void {
    if (this.destroyed) return;
    this.#pulling = false;
    const event = data === undefined ? undefined : `event: next\ndata: ${data}\n\n`;
    const sink = this.#sink;
    if (sink) {
      if (event !== undefined) sink.write(event);
      if (done) {
        this.#stopPings();
        sink.end(COMPLETE);
      } else if (!sink.writableNeedDrain) this.#pull();
      // Otherwise the response's `drain` pulls the next event.
      return;
    }
    if (event !== undefined) this.push(event);
    if (done) {
      this.#stopPings();
      this.push(COMPLETE);
      this.push(null);
    }
    // Otherwise the Readable asks for the next event (`_read`) once it has room for it.
  }

  #stopPings(): void {
    clearInterval(this.#ping);
    this.#ping = undefined;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stopPings();
    // Not waited for: an async generator's `return` queues behind a pending `next`, and the
    // response is gone either way.
    this.#iterator.return?.()?.catch(() => {});
    callback(error);
  }
}

/** Takes over Yoga's SSE processing for streamed results; see the module comment. */
export function useEventStreamResults(options: EventStreamResultsOptions = {}): Plugin {
  const yogaSse = getSSEProcessor();
  const pingIntervalMs = options.pingIntervalMs ?? (process.env.NODE_ENV === "test" ? 300 : 12_000);
  return {
    onResultProcess({ result, resultProcessor, setResultProcessor }) {
      // Yoga's `useResultProcessors` has negotiated `Accept` by now; its SSE processor is the
      // one Yoga's exported factory makes, so their names tell it from the others.
      if (resultProcessor?.name !== yogaSse.name || !isAsyncIterable(result)) return;
      setResultProcessor(
        (stream, fetchAPI) =>
          new fetchAPI.Response(
            new EventStream(
              (stream as AsyncIterable<Result>)[Symbol.asyncIterator](),
              fetchAPI,
              pingIntervalMs,
            ) as unknown as BodyInit,
            { status: 200, headers: HEADERS },
          ),
        "text/event-stream",
      );
    },
  };
}
