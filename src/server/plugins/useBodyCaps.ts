import { createGraphQLError, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import { isMultipart } from "./useUploads.ts";

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

const tooLarge = () =>
  createGraphQLError("Request body too large", {
    extensions: { code: ErrorCode.REQUEST_ENTITY_TOO_LARGE, http: { status: 413 } },
  });

/**
 * Body caps by content type. Yoga's own `maxRequestBodySize` is one number for every request,
 * and an upload must be allowed more than a JSON body, so it is off and this takes its place:
 * a declared `Content-Length` over the cap is refused with 413 before anything is read, and a
 * JSON (or other) body is counted as the parser reads it, so a chunked one is refused too once
 * it passes the cap. Registered after every request parser, so it wraps the one chosen.
 */
export function useBodyCaps(options: BodyCapsOptions = {}): Plugin {
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const maxUploadBytes = options.maxUploadBytes ?? 4_259_840;
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const multipart = isMultipart(request);
      const limit = multipart ? maxUploadBytes : maxBodyBytes;
      const declared = request.headers.get("content-length");
      if (declared !== null) {
        // One non-negative integer only: a list or garbage would otherwise skip the check.
        if (!/^\d+$/.test(declared)) {
          throw createGraphQLError("Content-Length header is invalid.", {
            extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } },
          });
        }
        if (Number(declared) > limit) throw tooLarge();
      }
      if (multipart || !requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser((req) => {
        // A native body needs the native TransformStream; the ponyfill's cannot pipe it.
        const Transform =
          req.body instanceof ReadableStream
            ? globalThis.TransformStream
            : fetchAPI.TransformStream;
        let read = 0;
        const body = req.body?.pipeThrough(
          new Transform<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              read += chunk.byteLength;
              if (read > limit) controller.error(tooLarge());
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(
          new fetchAPI.Request(req.url, {
            method: req.method,
            headers: req.headers,
            signal: req.signal,
            body: body ?? null,
            duplex: "half",
          } as RequestInit),
        );
      });
    },
  };
}
