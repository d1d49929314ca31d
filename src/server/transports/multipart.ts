/**
 * The GraphQL multipart request spec, streamed. The `operations` and `map` fields come first, so
 * the operation runs as soon as they are read, with a {@link UploadedFile} handle at each mapped
 * variable; the file parts that follow are handed to whoever opens them, chunk by chunk, with
 * backpressure all the way to the client's socket. Nothing buffers a file, which is why this
 * replaces Yoga's own multipart parser (it collects every file in memory before executing).
 *
 * Files are read in the order they are sent. A resolver waiting for a later part while an
 * earlier one sits unread would stall the body for good, so the earlier one is skipped instead
 * and fails with `out-of-order` if opened later: when the resolver starts waiting, and when a
 * part arrives while one already waits. Once the response is out ({@link finish}),
 * whatever is left is read and discarded, up to the body cap, so the connection stays usable.
 */
import { once } from "node:events";
import type { Readable } from "node:stream";
import { Busboy } from "@fastify/busboy";
import type { GraphQLError } from "graphql";
import type { GraphQLParams } from "graphql-yoga";
import { createGraphQLError } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import { type OpenedFile, UploadError, type UploadedFile } from "../../uploads/file.ts";

export interface MultipartLimits {
  /** Largest body, counted as it streams. */
  maxBytes: number;
  /** Most files (`map` entries). */
  maxFiles: number;
  /** Largest `operations` or `map` field. */
  maxFieldBytes: number;
}

const badRequest = (message: string) =>
  createGraphQLError(message, {
    extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400, spec: false } },
  });

const tooLarge = (message: string, limit: "bytes" | "files") =>
  createGraphQLError(message, {
    extensions: {
      code: ErrorCode.REQUEST_ENTITY_TOO_LARGE,
      limit,
      http: { status: 413, spec: false },
    },
  });

const bodyTooLarge = (maxBytes: number) =>
  tooLarge(`The upload is larger than the gateway accepts (${maxBytes} bytes).`, "bytes");
const tooManyFiles = (maxFiles: number) =>
  tooLarge(`At most ${maxFiles} files may be uploaded in one request.`, "files");

const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** Puts `value` where `path` (`variables.input.file`) names a `null` of `operations`. */
function placeAt(operations: Record<string, unknown>, path: string, value: unknown): boolean {
  const keys = path.split(".");
  if (keys[0] !== "variables" || keys.some((key) => UNSAFE_KEYS.has(key))) return false;
  let holder: unknown = operations;
  for (const key of keys.slice(0, -1)) {
    if (typeof holder !== "object" || holder === null || !Object.hasOwn(holder, key)) return false;
    holder = (holder as Record<string, unknown>)[key];
  }
  const last = keys[keys.length - 1]!;
  if (typeof holder !== "object" || holder === null || !Object.hasOwn(holder, last)) return false;
  if ((holder as Record<string, unknown>)[last] !== null) return false;
  (holder as Record<string, unknown>)[last] = value;
  return true;
}

/** A part's bytes; leaving early (`return()`) discards the rest instead of stalling the body. */
function partBody(stream: Readable): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const chunks = stream.iterator({ destroyOnReturn: false });
      return {
        next: () => chunks.next() as Promise<IteratorResult<Uint8Array>>,
        async return() {
          stream.resume();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

type SlotState = "waiting" | "arrived" | "opened" | "skipped" | "failed";

/** One `map` entry: the handle resolvers get, and the part once it arrives. */
class Slot implements UploadedFile {
  state: SlotState = "waiting";
  part: { name: string; type: string; stream: Readable } | undefined;
  error: UploadError | undefined;
  /** A resolver was waiting for this part when it arrived: it is never in anyone's way. */
  awaited = false;
  readonly #arrivals: (() => void)[] = [];

  constructor(private readonly request: MultipartRequest) {}

  /** Someone is waiting for this part: any other part that arrives meanwhile is in the way. */
  get wanted(): boolean {
    return this.state === "waiting" && this.#arrivals.length > 0;
  }

  async open(): Promise<OpenedFile> {
    if (this.state === "waiting") {
      const arrival = new Promise<void>((resolve) => this.#arrivals.push(resolve));
      this.request.unblock();
      await arrival;
    }
    if (this.state === "arrived" && this.part) {
      this.state = "opened";
      return { name: this.part.name, type: this.part.type, body: partBody(this.part.stream) };
    }
    if (this.state === "opened")
      throw new UploadError("already-read", "The file was already read.");
    throw this.error ?? new UploadError("missing", "The file's part never arrived.");
  }

  arrive(name: string, type: string, stream: Readable): void {
    this.part = { name, type: type || "application/octet-stream", stream };
    this.state = "arrived";
    this.awaited = this.#arrivals.length > 0;
    this.#wake();
  }

  /** Nobody may read this part any more: its bytes are discarded, a later open fails. */
  close(error: UploadError): void {
    if (this.state === "waiting") {
      this.state = "failed";
      this.error = error;
      this.#wake();
    } else if (this.state === "arrived") {
      this.state = error.reason === "out-of-order" ? "skipped" : "failed";
      this.error = error;
      this.part?.stream.resume();
    }
  }

  /** The request failed: a reader mid-file gets the error from its next read. */
  fail(error: UploadError): void {
    if (this.state === "opened") this.part?.stream.destroy(error);
    else this.close(error);
  }

  #wake(): void {
    for (const wake of this.#arrivals.splice(0)) wake();
  }
}

/** One multipart request being read. `params` resolves once `operations` and `map` are in. */
export class MultipartRequest {
  readonly params: Promise<GraphQLParams>;
  readonly #limits: MultipartLimits;
  readonly #parser: ReturnType<typeof Busboy>;
  readonly #slots = new Map<string, Slot>();
  #operations: Record<string, unknown> | undefined;
  #settle!: { resolve(params: GraphQLParams): void; reject(error: unknown): void; done: boolean };
  #finished = false;
  #failed = false;
  /** Aborted when the body cannot be read on: a pump waiting for the parser stops waiting. */
  readonly #stop = new AbortController();

  constructor(body: ReadableStream<Uint8Array>, contentType: string, limits: MultipartLimits) {
    this.#limits = limits;
    this.params = new Promise<GraphQLParams>((resolve, reject) => {
      this.#settle = { resolve, reject, done: false };
    });
    // Read by Yoga when the operation runs; a refusal before then must not go unhandled.
    this.params.catch(() => {});
    this.#parser = Busboy({
      headers: { "content-type": contentType },
      preservePath: true,
      limits: {
        fieldSize: limits.maxFieldBytes,
        fields: 16,
        files: limits.maxFiles,
        parts: limits.maxFiles + 16,
      },
    });
    this.#parser.on("field", (name, value, _nameTruncated, valueTruncated) => {
      const problem = valueTruncated
        ? tooLarge("A multipart field (`operations` or `map`) is too large.", "bytes")
        : name === "operations"
          ? this.#readOperations(value)
          : name === "map"
            ? this.#readMap(value)
            : undefined;
      if (problem) this.#refuse(problem);
    });
    this.#parser.on("file", (name, stream, filename, _encoding, type) => {
      const slot = this.#slots.get(name);
      if (!this.#settle.done)
        this.#refuse(badRequest("A multipart file came before the `operations` and `map` fields."));
      if (slot?.state !== "waiting" || this.#finished || this.#failed) {
        stream.resume();
        return;
      }
      slot.arrive(filename, type, stream);
      this.unblock();
    });
    this.#parser.on("filesLimit", () => this.#fail(tooManyFiles(limits.maxFiles), "too-large"));
    this.#parser.on("partsLimit", () =>
      this.#fail(badRequest("The multipart body has too many parts."), "cut"),
    );
    this.#parser.on("error", () =>
      this.#fail(badRequest("The multipart body is malformed."), "cut"),
    );
    this.#parser.on("finish", () => {
      if (!this.#settle.done) {
        if (this.#operations) this.#resolve(this.#operations);
        else this.#refuse(badRequest("The multipart request has no `operations` field."));
      }
      for (const slot of this.#slots.values()) {
        slot.close(new UploadError("missing", "The multipart body ended without this file."));
      }
    });
    void this.#pump(body);
  }

  /**
   * The response is out: nothing will open a file any more. Parts still to come, or arrived and
   * unread, are read and discarded, so the client can finish sending and reuse the connection.
   */
  finish(): void {
    this.#finished = true;
    const gone = new UploadError("missing", "The operation ended before reading this file.");
    for (const slot of this.#slots.values()) {
      slot.close(gone);
      if (slot.state === "opened") slot.part?.stream.resume();
    }
  }

  /**
   * While a resolver waits for a part, a part that arrived before it and that nobody opened
   * holds the body up for good: it is skipped (discarded; opening it later fails).
   */
  unblock(): void {
    const slots = [...this.#slots.values()];
    if (!slots.some((slot) => slot.wanted)) return;
    for (const slot of slots) {
      if (slot.state === "arrived" && !slot.awaited) {
        slot.close(
          new UploadError(
            "out-of-order",
            "Files must be sent in the order the operation reads them.",
          ),
        );
      }
    }
  }

  async #pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > this.#limits.maxBytes) {
          this.#fail(bodyTooLarge(this.#limits.maxBytes), "too-large");
          await reader.cancel().catch(() => {});
          return;
        }
        if (this.#failed) continue;
        if (!this.#parser.write(value)) {
          await once(this.#parser, "drain", { signal: this.#stop.signal }).catch(() => {});
        }
      }
      if (!this.#failed) this.#parser.end();
    } catch {
      this.#fail(badRequest("The upload was cut off before it ended."), "cut");
    }
  }

  /** Reads `operations`; what is wrong with it, if anything. */
  #readOperations(value: string): GraphQLError | undefined {
    if (this.#operations) return badRequest("The multipart request has two `operations` fields.");
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return badRequest("The multipart field `operations` is not valid JSON.");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return badRequest("The multipart field `operations` must be one JSON object.");
    }
    this.#operations = parsed as Record<string, unknown>;
    return undefined;
  }

  /** Reads `map`, puts a file handle at each path it names, and lets the operation run. */
  #readMap(value: string): GraphQLError | undefined {
    const operations = this.#operations;
    if (!operations) return badRequest("The multipart field `map` must follow `operations`.");
    let map: unknown;
    try {
      map = JSON.parse(value);
    } catch {
      return badRequest("The multipart field `map` is not valid JSON.");
    }
    if (typeof map !== "object" || map === null || Array.isArray(map)) {
      return badRequest("The multipart field `map` must be a JSON object.");
    }
    const entries = Object.entries(map);
    if (entries.length > this.#limits.maxFiles) return tooManyFiles(this.#limits.maxFiles);
    for (const [name, paths] of entries) {
      const slot = new Slot(this);
      this.#slots.set(name, slot);
      if (!Array.isArray(paths) || paths.length === 0) {
        return badRequest("Each multipart map entry must list the paths of its file.");
      }
      for (const path of paths) {
        if (typeof path !== "string" || !placeAt(operations, path, slot)) {
          return badRequest(
            "Each multipart map path must name a null under `variables` in `operations`.",
          );
        }
      }
    }
    this.#resolve(operations);
    return undefined;
  }

  #resolve(operations: Record<string, unknown>): void {
    if (this.#settle.done) return;
    this.#settle.done = true;
    this.#settle.resolve(operations as GraphQLParams);
  }

  /** The request is refused before it runs; the rest of the body is discarded. */
  #refuse(error: unknown): void {
    if (this.#settle.done) return;
    this.#settle.done = true;
    this.#settle.reject(error);
    this.finish();
  }

  /** The body cannot be read on: whoever waits for a file, or reads one, gets the reason. */
  #fail(error: GraphQLError, reason: "too-large" | "cut"): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#refuse(error);
    for (const slot of this.#slots.values()) slot.fail(new UploadError(reason, error.message));
    this.#stop.abort();
    this.#parser.destroy();
  }
}
