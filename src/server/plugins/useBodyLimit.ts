import type { IncomingMessage } from "node:http";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { GraphQLError } from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import type { ServerContext } from "../server-context.ts";

export interface BodyLimitOptions {
  /** Largest request body, in bytes (`MAX_BODY_BYTES`). */
  maxBytes: number;
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
 * The request body cap, `413 REQUEST_ENTITY_TOO_LARGE` past `maxBytes`, in place of Yoga's
 * `maxRequestBodySize`, which sends every body through a WHATWG `TransformStream` pipeline and a
 * second `Request` (a `stream.pipeline` and its `DOMException` per request, ~3% of the CPU of an
 * operation). Nearly every request declares its `Content-Length`, and Node's HTTP parser never
 * delivers more body than declared, so the header alone decides: nothing is wrapped or counted.
 * Only a body without one (chunked) is counted, on the Node stream as it is read.
 */
export function useBodyLimit(options: BodyLimitOptions): Plugin {
  const { maxBytes } = options;
  return {
    onRequestParse({ request, serverContext, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get("content-length");
      if (declared !== null) {
        if (!CONTENT_LENGTH.test(declared)) throw badLength();
        if (Number(declared) > maxBytes) throw tooLarge();
        return;
      }
      if (!requestParser || request.body === null) return;
      const parse = requestParser;
      setRequestParser((req) => {
        // In-process requests (`yoga.fetch`) have no Node stream: their Fetch body stands in.
        const source =
          unreadNodeBody(serverContext) ??
          Readable.from(req.body as unknown as AsyncIterable<Uint8Array>);
        const counted = source.pipe(new ByteCounter(maxBytes));
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
