import type { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { type DestinationStream, type Logger, pino } from "pino";
import type { GatewayConfig } from "./config.ts";

export type { Logger } from "pino";

/**
 * Keys whose values are credentials wherever they appear. Redaction is a safety net: the
 * gateway's own log lines never carry headers, but an error or a future log call might.
 */
export const SECRET_KEYS = [
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "x-auth-key",
  "x-auth-email",
  "x-cloudflare-api-token",
  "cookie",
  "set-cookie",
  "apiKey",
  "apiToken",
  "token",
  "accessToken",
  "refreshToken",
  "password",
  "secret",
  "credentials",
  "cloudflareApiToken",
];

const CENSOR = "[redacted]";
/** Nesting levels searched below a line's top level (the old paths reached two). */
const MAX_DEPTH = 6;

/**
 * A function returning `value` with every property named like one of `keys` (any case, at any
 * depth up to {@link MAX_DEPTH}) replaced by `[redacted]`: a copy of only the objects on the way
 * to a secret, `value` itself (no copy at all) when there is none. pino's `redact` option
 * instead parses each of its paths on every line and scans wildcards over every key: with
 * three paths for each of 17 keys that was ~6% of the gateway's CPU per operation, for lines
 * that never carry a secret. Here a clean line costs one set lookup per key it has.
 */
export function redactor(keys: readonly string[]): <T>(value: T) => T {
  const secret = new Set(keys.map((key) => key.toLowerCase()));
  const visit = (value: object, depth: number): object | undefined => {
    // A buffer's bytes are indices, not names.
    if (ArrayBuffer.isView(value)) return undefined;
    if (Array.isArray(value)) {
      let list: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item === null || typeof item !== "object" || depth >= MAX_DEPTH) continue;
        const redacted = visit(item, depth + 1);
        if (!redacted) continue;
        list ??= value.slice();
        list[i] = redacted;
      }
      return list;
    }
    let copy: Record<string, unknown> | undefined;
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const item = record[key];
      if (item === undefined) continue;
      let replacement: unknown;
      if (secret.has(key.toLowerCase())) replacement = CENSOR;
      else if (item !== null && typeof item === "object" && depth < MAX_DEPTH) {
        replacement = visit(item, depth + 1);
      }
      if (replacement === undefined) continue;
      copy ??= { ...record };
      copy[key] = replacement;
    }
    return copy;
  };
  return <T>(value: T): T =>
    value !== null && typeof value === "object" ? ((visit(value, 0) as T) ?? value) : value;
}

/**
 * pino's `isoTime`, `,"time":"<ISO 8601>"`, with the date and time up to the second formatted
 * once per second: `Date#toISOString` on every line was ~1% of the gateway's CPU per operation.
 * The same text as pino's for every instant.
 */
export function isoTime(): string {
  const now = Date.now();
  const ms = now % 1000;
  const second = now - ms;
  if (second !== isoSecond) {
    isoSecond = second;
    // "2026-12-02T15:56:17." of "2026-12-02T15:56:17.000Z"
    isoPrefix = `,"time":"${new Date(second).toISOString().slice(0, -4)}`;
  }
  return `${isoPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z"`;
}
let isoSecond = Number.NaN;
let isoPrefix = "";

/** The flushes of stdout's sinks, run at exit; one listener for all (tests make many sinks). */
const atExit = new Set<WeakRef<() => void>>();
function flushedAtExit(flush: () => void): void {
  if (atExit.size === 0) {
    process.once("exit", () => {
      for (const ref of atExit) ref.deref()?.();
    });
  }
  atExit.add(new WeakRef(flush));
}

/**
 * The gateway's stdout, written so that logging never blocks the process.
 *
 * pino's default destination (sonic-boom 4) is unsafe on a pipe: its exit hook flushes with
 * `flushSync`, which retries a failed write every 100 ms, blocking the main thread, until it
 * succeeds. On a pipe whose reader is gone every write fails with EPIPE, and on a pipe nobody
 * reads every write fails with EAGAIN, so `process.exit()` never returns: no signal handler and
 * no timer can run again. Node's own `process.stdout` never blocks on a pipe (libuv queues what
 * the pipe cannot take yet), reports a dead reader as an `error` event, and writes files and
 * terminals synchronously, as pino would. What it lacks is a bound on that queue: past
 * `maxBufferedBytes`, lines are dropped and counted, and once stdout drains a warning says how
 * many were lost.
 *
 * Lines written in one turn of the event loop leave in one write, at the end of the turn: a
 * write is a system call (synchronous on a file or terminal), and under load one per operation
 * was several percent of the gateway's CPU. Nothing waits longer than that turn, and the lines
 * still pending when the process exits are written then.
 */
export class StdoutSink implements DestinationStream {
  readonly #stream: Writable;
  readonly #maxBufferedBytes: number;
  #broken = false;
  #dropped = 0;
  /** Lines of this turn, not yet handed to the stream, and their length in characters. */
  #batch: string[] = [];
  #batchLength = 0;
  #flushing: NodeJS.Immediate | undefined;
  readonly #flush = () => this.#flushNow();
  /** Writes handed to the stream and not yet written out, and who waits for that to be none. */
  #unwritten = 0;
  readonly #waiters = new Set<() => void>();
  /** Called once stdout drains after lines were dropped, with how many. */
  onRecovered?: (dropped: number) => void;

  constructor(stream: Writable = process.stdout, options: { maxBufferedBytes?: number } = {}) {
    this.#stream = stream;
    // Never below the stream's own high-water mark, so that dropping always ends with a `drain`.
    this.#maxBufferedBytes = Math.max(
      options.maxBufferedBytes ?? 4_194_304,
      stream.writableHighWaterMark,
    );
    // EPIPE and the like: nobody will read these lines again, so none are written from now on.
    stream.on("error", () => {
      this.#broken = true;
    });
    // The last turn's lines (a fatal error's, say) when the process exits: stdout on a file or
    // terminal is written synchronously, on a pipe handed to libuv at once.
    if (stream === process.stdout) flushedAtExit(this.#flush);
  }

  write(line: string): void {
    if (this.#broken || !this.#stream.writable) return;
    if (this.#stream.writableLength + this.#batchLength > this.#maxBufferedBytes) {
      if (this.#dropped++ === 0) {
        this.#stream.once("drain", () => {
          const dropped = this.#dropped;
          this.#dropped = 0;
          this.onRecovered?.(dropped);
        });
      }
      return;
    }
    this.#batch.push(line);
    this.#batchLength += line.length;
    this.#flushing ??= setImmediate(this.#flush);
  }

  /** Hands this turn's lines to the stream now, in one write. */
  #flushNow(): void {
    if (this.#flushing) clearImmediate(this.#flushing);
    this.#flushing = undefined;
    if (this.#batch.length === 0) return;
    const text = this.#batch.length === 1 ? this.#batch[0]! : this.#batch.join("");
    this.#batch = [];
    this.#batchLength = 0;
    if (this.#broken || !this.#stream.writable) return;
    this.#unwritten++;
    // Called once the lines are out, or have failed: either way there is nothing left to wait for.
    this.#stream.write(text, () => {
      if (--this.#unwritten === 0) for (const wake of this.#waiters) wake();
    });
  }

  /**
   * Resolves once every line written has left the process, or after `timeoutMs` at most. (Not
   * named `flush`: pino would call that with its own callback contract.)
   */
  async drain(timeoutMs: number): Promise<void> {
    this.#flushNow();
    if (this.#unwritten === 0) return;
    let wake!: () => void;
    const written = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.#waiters.add(wake);
    const timer = new AbortController();
    try {
      await Promise.race([written, sleep(timeoutMs, undefined, { signal: timer.signal })]);
    } finally {
      timer.abort();
      this.#waiters.delete(wake);
    }
  }
}

export interface LoggerOptions {
  /**
   * Where lines go; tests pass a stream to read them back.
   * @default a `StdoutSink` holding up to `LOG_BUFFER_BYTES`
   */
  destination?: DestinationStream;
  /**
   * Further header or field names to redact, e.g. the pass-through token header when renamed.
   * @default []
   */
  extraSecretKeys?: readonly string[];
}

/**
 * The gateway's JSON logger. Level names rather than numbers and ISO times, because these lines
 * are read by people as often as by log shippers.
 */
export function createLogger(
  config: Pick<GatewayConfig, "logLevel"> &
    Partial<Pick<GatewayConfig, "logBufferBytes">> & { security?: { passThroughHeader?: string } },
  options: LoggerOptions = {},
): Logger {
  const extra = [...(options.extraSecretKeys ?? [])];
  if (config.security?.passThroughHeader) extra.push(config.security.passThroughHeader);
  const destination =
    options.destination ??
    new StdoutSink(process.stdout, { maxBufferedBytes: config.logBufferBytes });
  const redact = redactor([...SECRET_KEYS, ...extra]);
  const logger = pino(
    {
      level: config.logLevel,
      base: { service: "aisearch-graphql-gateway" },
      timestamp: isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: redact,
        // An error under `err` is left whole for its serializer, which needs the Error itself
        // (message, stack and cause are not own enumerable properties); its output is redacted.
        log: (line) => {
          if (line.err === undefined) return redact(line);
          const { err, ...rest } = line;
          const redacted = redact(rest);
          return redacted === rest ? line : { ...redacted, err };
        },
      },
      serializers: { err: (error: unknown) => redact(pino.stdSerializers.err(error as Error)) },
    },
    destination,
  );
  if (destination instanceof StdoutSink) {
    destination.onRecovered = (dropped) =>
      logger.warn({ droppedLines: dropped }, "logs: stdout was not being read, lines were dropped");
  }
  return logger;
}
