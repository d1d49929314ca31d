import type { IncomingMessage } from "node:http";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { GraphQLError } from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import type { ServerContext } from "../server-context.ts";
import { isUpload } from "./useUploads.ts";

export interface BodyCapsOptions {
  /**
   * Largest body of any request but a multipart upload (`MAX_BODY_BYTES`).
   * @default 1048576
   */
  maxBodyBytes?: number;
  /**
   * Largest multipart (upload) body (`MAX_UPLOAD_BYTES`); its bytes are counted by the multipart
   * reader as it streams (`useUploads`).
   * @default 4259840
   */
  maxUploadBytes?: number;
}

const tooLarge = (): GraphQLError =>
  createGraphQLError("Request body too large", {
    extensions: { code: ErrorCode.REQUEST_ENTITY_TOO_LARGE, http: { status: 413 } },
  });

const badLength = (): GraphQLError =>
  createGraphQLError("Content-Length header is invalid.", {
    extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } },
  });

/** A single non-negative integer; a list or a sign is how smuggling attempts look. */
const CONTENT_LENGTH = /^\d+$/;

/** The refusal of a declared `Content-Length` (malformed, or over `maxBytes`), if any. */
function declaredLengthRefusal(request: Request, maxBytes: number): GraphQLError | undefined {
  const declared = request.headers.get("content-length");
  if (declared === null) return undefined;
  if (!CONTENT_LENGTH.test(declared)) return badLength();
  return Number(declared) > maxBytes ? tooLarge() : undefined;
}

/**
 * `request` within `maxBytes`, or the cap's refusal, for a handler that reads bodies itself,
 * outside Yoga's request parsing: a declared length decides alone; a body without one is read
 * here, and refused once more than `maxBytes` arrived.
 */
export async function cappedBody(
  request: Request,
  maxBytes: number,
): Promise<{ request: Request } | { refusal: GraphQLError }> {
  if (request.headers.has("content-length")) {
    const refusal = declaredLengthRefusal(request, maxBytes);
    return refusal ? { refusal } : { request };
  }
  if (request.body === null) return { request };
  const parts: Uint8Array[] = [];
  let read = 0;
  const reader = request.body.getReader();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    read += part.value.byteLength;
    if (read > maxBytes) {
      // Released, not cancelled: cancelling would destroy the socket before the 413 is written.
      reader.releaseLock();
      return { refusal: tooLarge() };
    }
    parts.push(part.value);
  }
  const body = Buffer.concat(parts);
  const { url, method, headers, signal } = request;
  return { request: new Request(url, { method, headers, signal, body }) };
}

/** Passes bytes through until more than `maxBytes` went by, then fails with a 413. */
class ByteCounter extends Transform {
  #left: number;
  constructor(maxBytes: number) {
    super();
    this.#left = maxBytes;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#left -= chunk.length;
    if (this.#left < 0) done(tooLarge());
    else done(null, chunk);
  }
}

/** The Node request behind `request`, if its body has not been touched yet. */
function unreadNodeBody(context: unknown): IncomingMessage | undefined {
  const req = (context as ServerContext | undefined)?.req;
  return req && req.readableFlowing === null && !req.readableEnded ? req : undefined;
}

/**
 * Body caps by content type, `413 REQUEST_ENTITY_TOO_LARGE` past them. Yoga's own
 * `maxRequestBodySize` is one number for every request (an upload must be allowed more than a
 * JSON body), and it sends every body through a WHATWG `TransformStream` pipeline and a second
 * `Request` (a `stream.pipeline` and its `DOMException` per request, ~3% of an operation's CPU),
 * so it is off and this takes its place. Nearly every request declares its `Content-Length`,
 * and Node's HTTP parser never delivers more body than declared, so the header alone decides:
 * nothing is wrapped or counted. Only a body without one (chunked) is counted, on the Node stream
 * as it is read; a multipart body is counted by the multipart reader itself. Registered after
 * every request parser, so it wraps the one chosen.
 */
export function useBodyCaps(options: BodyCapsOptions = {}): Plugin {
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const maxUploadBytes = options.maxUploadBytes ?? 4_259_840;
  return {
    onRequestParse({ request, serverContext, requestParser, setRequestParser, fetchAPI }) {
      // Any body `useUploads` does not read as an upload gets the JSON cap.
      const multipart = isUpload(request);
      if (request.headers.has("content-length")) {
        const refusal = declaredLengthRefusal(request, multipart ? maxUploadBytes : maxBodyBytes);
        if (refusal) throw refusal;
        return;
      }
      if (multipart || !requestParser || request.body === null) return;
      const parse = requestParser;
      setRequestParser((req) => {
        // In-process requests (`yoga.fetch`) have no Node stream: their Fetch body stands in.
        const source =
          unreadNodeBody(serverContext) ??
          Readable.from(req.body as unknown as AsyncIterable<Uint8Array>);
        const counted = source.pipe(new ByteCounter(maxBodyBytes));
        // An error of the source (a reset) must reach the reader, which `pipe` does not do.
        source.once("error", (error) => counted.destroy(error));
        return parse(
          new fetchAPI.Request(req.url, {
            method: req.method,
            headers: req.headers,
            signal: req.signal,
            body: counted as unknown as BodyInit,
            duplex: "half",
          } as RequestInit),
        );
      });
    },
  };
}
