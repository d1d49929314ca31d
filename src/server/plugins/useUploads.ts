import type { Plugin } from "graphql-yoga";
import { type MultipartLimits, MultipartRequest } from "../transports/multipart.ts";

export interface UploadsOptions {
  /**
   * Largest multipart body, counted as it streams (its `Content-Length`, when declared, is
   * checked by `useBodyCaps` before anything is read).
   * @default 4259840 (a 4 MiB file, Cloudflare's item limit, plus 64 KiB)
   */
  maxBytes?: number;
  /**
   * Most files in one request (`map` entries).
   * @default 5
   */
  maxFiles?: number;
  /**
   * Largest `operations` or `map` field: the JSON body cap, since that is what they hold.
   * @default 1048576
   */
  maxFieldBytes?: number;
}

const readers = new WeakMap<Request, MultipartRequest>();

/** A request this plugin reads as an upload: a multipart POST. */
export const isUpload = (request: Request) =>
  request.method === "POST" &&
  request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() ===
    "multipart/form-data";

/**
 * File uploads by the GraphQL multipart request spec, streamed (transports/multipart.ts): the
 * operation runs once `operations` and `map` are read, and each `File` argument reads its part
 * as it arrives. Sits after CSRF prevention, which refuses a multipart POST (a content type any
 * page can send cross-site) without a `graphql-require-preflight` header before this parser
 * reads a byte. Once the response is out, what is left of the body is discarded.
 */
export function useUploads(options: UploadsOptions = {}): Plugin {
  const limits: MultipartLimits = {
    maxBytes: options.maxBytes ?? 4_259_840,
    maxFiles: options.maxFiles ?? 5,
    maxFieldBytes: options.maxFieldBytes ?? 1_048_576,
  };
  return {
    onRequestParse({ request, setRequestParser }) {
      if (!isUpload(request)) return;
      setRequestParser((req) => {
        const reader = new MultipartRequest(
          req.body ?? new ReadableStream(),
          req.headers.get("content-type") ?? "",
          limits,
        );
        readers.set(request, reader);
        return reader.params;
      });
    },
    onResponse({ request }) {
      readers.get(request)?.finish();
    },
  };
}
