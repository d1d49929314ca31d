/**
 * Receiving a multipart item upload (`POST .../items`) the way Cloudflare takes it: a `file`
 * part whose filename is the item key, an optional `metadata` part (a JSON object as text) and
 * an optional `wait_for_completion` part.
 *
 * The file is streamed to a temp file in the data directory — never held whole in memory —
 * while its size, SHA-256 and text-ness are measured. Whatever goes wrong (a bad part, a file
 * over the limit, a client that hangs up mid-upload) the temp file is removed before this
 * returns or throws; the caller commits it (a rename) only once everything else checked out.
 */

import { createHash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { finished, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Busboy } from "@fastify/busboy";
import { MAX_ITEM_BYTES } from "./documents.ts";
import { ApiError, ErrorCode } from "./http.ts";
import type { DataStore } from "./store.ts";

export interface ReceivedUpload {
  tempFile: string;
  /** As sent, directories included. */
  filename: string;
  sizeBytes: number;
  checksum: string;
  /** UTF-8 without NUL bytes. */
  isText: boolean;
  metadata: string | undefined;
  waitForCompletion: string | undefined;
}

/** Past this many request bytes the socket is cut instead of drained to answer politely. */
const MAX_REQUEST_BYTES = MAX_ITEM_BYTES * 4;
const MAX_FIELD_BYTES = 64 * 1024;

/** Thrown when the client went away; there is nobody left to answer. */
export class UploadAborted extends Error {}

export async function receiveUpload(
  req: IncomingMessage,
  store: DataStore,
): Promise<ReceivedUpload> {
  const contentType = req.headers["content-type"] ?? "";
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new ApiError(
      400,
      ErrorCode.invalidRequest,
      "invalid_request: upload items as multipart/form-data with a `file` part",
    );
  }
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({
      headers: { ...req.headers, "content-type": contentType },
      preservePath: true, // keys may name folders ("guides/setup.md")
      limits: {
        files: 1,
        fileSize: MAX_ITEM_BYTES,
        fields: 8,
        fieldSize: MAX_FIELD_BYTES,
        parts: 10,
      },
    });
  } catch (error) {
    throw new ApiError(
      400,
      ErrorCode.invalidRequest,
      `invalid_request: ${(error as Error).message}`,
    );
  }

  const tempFile = await store.tempFile();
  const fields = new Map<string, string>();
  let file: { filename: string; sink: WriteStream; written: Promise<Measured> } | undefined;
  let refusal: ApiError | undefined;
  const refuse = (error: ApiError) => {
    refusal ??= error;
  };

  parser.on("file", (name, stream, filename) => {
    if (name !== "file" || file) {
      refuse(
        new ApiError(
          400,
          ErrorCode.invalidRequest,
          `invalid_request: unexpected file part "${name}"; send one part named "file"`,
        ),
      );
      stream.resume();
      return;
    }
    const measure = new Measure();
    const sink = createWriteStream(tempFile);
    stream.on("limit", () =>
      refuse(
        new ApiError(
          413,
          ErrorCode.fileTooLarge,
          `file_exceeds_maximum_size: the file exceeds the ${MAX_ITEM_BYTES}-byte item limit`,
        ),
      ),
    );
    file = {
      filename,
      sink,
      written: pipeline(stream, measure, sink).then(() => measure.result()),
    };
    file.written.catch(() => {});
  });
  parser.on("field", (name, value, _nameTruncated, valueTruncated) => {
    if (valueTruncated) {
      refuse(
        new ApiError(400, ErrorCode.invalidRequest, `invalid_request: part "${name}" is too long`),
      );
    }
    fields.set(name, value);
  });
  const tooMany = () =>
    refuse(new ApiError(400, ErrorCode.invalidRequest, "invalid_request: too many parts"));
  parser.on("filesLimit", tooMany);
  parser.on("fieldsLimit", tooMany);
  parser.on("partsLimit", tooMany);

  try {
    await feed(req, parser);
    const measured = await file?.written;
    if (refusal) throw refusal;
    if (!file || !measured) {
      throw new ApiError(
        400,
        ErrorCode.fileRequired,
        "file_field_is_required: the multipart body has no `file` part",
      );
    }
    return {
      tempFile,
      filename: file.filename,
      ...measured,
      metadata: fields.get("metadata"),
      waitForCompletion: fields.get("wait_for_completion"),
    };
  } catch (error) {
    // The file must be closed first: removing it while its stream is still opening would let
    // the stream create it again afterwards.
    if (file) await closed(file.sink);
    await rm(tempFile, { force: true });
    throw error;
  }
}

/**
 * Pipes the request into the parser. Not `pipeline()`: on a parse error that would destroy the
 * request, and with it the socket our 400 must travel on; the server drains the rest instead.
 */
function feed(req: IncomingMessage, parser: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        callback(null, chunk);
        if (received > MAX_REQUEST_BYTES) {
          req.unpipe(counted);
          req.socket.destroy(); // far past the limit: not worth draining
          reject(new UploadAborted());
        }
      },
    });
    parser.on("finish", () => resolve());
    parser.on("error", (error: Error) => {
      req.unpipe(counted);
      reject(
        new ApiError(
          400,
          ErrorCode.invalidRequest,
          `invalid_request: malformed multipart body (${error.message})`,
        ),
      );
    });
    req.on("close", () => {
      if (!req.complete) reject(new UploadAborted());
    });
    req.pipe(counted).pipe(parser);
  });
}

function closed(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) {
      resolve();
      return;
    }
    finished(stream, () => resolve());
    stream.destroy();
  });
}

interface Measured {
  sizeBytes: number;
  checksum: string;
  isText: boolean;
}

/** Passes bytes through while hashing them and checking they decode as UTF-8 text. */
class Measure extends Transform {
  private readonly hash = createHash("sha256");
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  private bytes = 0;
  private text = true;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    if (this.text) this.check(() => this.decoder.decode(chunk, { stream: true }), chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback) {
    if (this.text) this.check(() => this.decoder.decode());
    callback();
  }

  result(): Measured {
    return { sizeBytes: this.bytes, checksum: this.hash.digest("hex"), isText: this.text };
  }

  private check(decode: () => string, chunk?: Buffer) {
    try {
      decode();
      if (chunk?.includes(0)) this.text = false;
    } catch {
      this.text = false;
    }
  }
}
