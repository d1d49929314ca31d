/**
 * Item uploads (`POST .../items`), multipart the way Cloudflare takes them: a `file` part whose
 * filename is the item key, an optional `metadata` part (a JSON object as text) and an optional
 * `wait_for_completion` part.
 *
 * The file is streamed to a temp file in the data directory — never held whole in memory —
 * while its size, SHA-256 and text-ness are measured. Whatever goes wrong (a bad part, a file
 * over the limit, a client that hangs up mid-upload) the temp file is removed before this
 * returns or throws; the caller commits it (a rename) only once everything else checked out.
 */

import { createHash, randomUUID } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { finished, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Busboy } from "@fastify/busboy";
import type { ItemUploadResult, ItemUploadWarning } from "../upstream/management-types.ts";
import type { CustomMetadataType } from "../upstream/types.ts";
import { BUILTIN_SOURCE, type ItemRecord, type LiveInstance, toItem } from "./catalog.ts";
import { type RequestContext, requireInstance } from "./context.ts";
import { isIndexable, MAX_ITEM_BYTES, type MetadataValue } from "./documents.ts";
import { ApiError, ErrorCode, sendResult } from "./http.ts";
import { checkKey, refuseDuplicate, settle } from "./items.ts";
import { itemLog } from "./records.ts";
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

export async function uploadItem(ctx: RequestContext): Promise<void> {
  const { services } = ctx;
  const { instance } = requireInstance(ctx);
  if (instance.overrides.paused) {
    throw new ApiError(
      400,
      ErrorCode.instancePaused,
      `ai_search_is_paused: instance "${instance.id}" is paused; resume it before uploading`,
    );
  }
  const upload = await receiveUpload(ctx.req, services.store);
  let item: ItemRecord;
  let warnings: ItemUploadWarning[];
  try {
    checkKey(upload.filename);
    if (!isIndexable(upload.filename)) {
      throw new ApiError(
        400,
        ErrorCode.unsupportedFileType,
        `unsupported_file_type: "${upload.filename}" is not a plain text type the local AI Search indexes`,
      );
    }
    if (upload.sizeBytes === 0) {
      throw new ApiError(400, ErrorCode.invalidRequest, "file_content_empty: the file is empty");
    }
    if (!upload.isText) {
      throw new ApiError(
        400,
        ErrorCode.unsupportedFileType,
        "unsupported_file_type: the file is not UTF-8 text",
      );
    }
    const metadata = parseUploadMetadata(upload.metadata);
    const checked = checkMetadata(instance, metadata);
    warnings = checked.warnings;
    const id = randomUUID();
    // Checked again after the commit below (an await): two uploads of one key may race.
    refuseDuplicate(instance, upload.filename);
    await services.store.commitBlob(upload.tempFile, id);
    if (instance.findByKey(upload.filename, BUILTIN_SOURCE)) {
      await services.store.removeBlob(id);
      refuseDuplicate(instance, upload.filename);
    }
    const now = new Date();
    item = {
      id,
      key: upload.filename,
      sourceId: BUILTIN_SOURCE,
      status: "queued",
      nextAction: "INDEX",
      checksum: upload.checksum,
      fileSize: upload.sizeBytes,
      createdAt: now.toISOString(),
      lastSeenAt: now.toISOString(),
      activityMs: now.getTime(),
      customMetadata: checked.metadata,
      document: undefined,
      logs: [],
      generation: 0,
    };
  } catch (error) {
    await rm(upload.tempFile, { force: true });
    throw error;
  }
  instance.items.set(item.id, item);
  itemLog(item, "upload", `uploaded ${item.fileSize} bytes`);
  services.indexer.enqueue(instance, item);
  // As accepted (queued), unless the caller asked to wait: the worker may move on meanwhile.
  let result: ItemUploadResult = toItem(instance, item);
  await services.persist();
  if (upload.waitForCompletion === "true") {
    await settle(ctx, item);
    result = toItem(instance, item);
  }
  if (warnings.length > 0) result.warnings = warnings;
  sendResult(ctx.res, result);
}

function parseUploadMetadata(text: string | undefined): Record<string, MetadataValue> {
  if (text === undefined || text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const valid =
    typeof parsed === "object" &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every((value) => ["string", "number", "boolean"].includes(typeof value));
  if (!valid) {
    throw new ApiError(
      400,
      ErrorCode.invalidMetadata,
      "invalid_metadata_format: metadata must be a JSON object of string, number or boolean values",
    );
  }
  return parsed as Record<string, MetadataValue>;
}

/**
 * Upstream filters only on the custom metadata fields an instance declares: other fields are
 * kept but flagged, values of the wrong type are dropped and flagged.
 */
function checkMetadata(
  instance: LiveInstance,
  metadata: Record<string, MetadataValue>,
): { metadata: Record<string, MetadataValue>; warnings: ItemUploadWarning[] } {
  const declared = new Map(
    (instance.overrides.custom_metadata ?? []).map((field) => [field.field_name, field.data_type]),
  );
  const kept: Record<string, MetadataValue> = {};
  const warnings: ItemUploadWarning[] = [];
  for (const [field, value] of Object.entries(metadata)) {
    const type = declared.get(field);
    if (!type) {
      warnings.push({ code: "custom_metadata_field_not_filterable", field });
      kept[field] = value;
    } else if (fits(value, type)) kept[field] = value;
    else warnings.push({ code: "custom_metadata_value_not_indexed", field, expected_type: type });
  }
  return { metadata: kept, warnings };
}

function fits(value: MetadataValue, type: CustomMetadataType): boolean {
  if (type === "text") return typeof value === "string";
  if (type === "datetime") return typeof value === "string" && !Number.isNaN(Date.parse(value));
  return typeof value === type;
}
