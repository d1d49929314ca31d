/**
 * What a `File` argument carries to a resolver. A multipart request (the GraphQL multipart
 * request spec) is executed as soon as its `operations` and `map` fields are read, while its
 * files are still arriving, so a file is a handle whose part is awaited and whose bytes are
 * read once, as they come: the gateway never holds a file whole (src/server/transports/multipart.ts).
 */

export interface OpenedFile {
  /** The part's file name, as the client sent it (folders kept). */
  name: string;
  /** The part's content type; `application/octet-stream` when it sent none. */
  type: string;
  /** The bytes, as they arrive; read once. Fails with an {@link UploadError} if the request does. */
  body: AsyncIterable<Uint8Array>;
}

export interface UploadedFile {
  /** Waits for the file's part; rejects with an {@link UploadError} when it cannot come. */
  open(): Promise<OpenedFile>;
}

/** Why a file could not be read; `reason` says which, and its message is safe to show. */
export class UploadError extends Error {
  constructor(
    readonly reason: "too-large" | "missing" | "out-of-order" | "already-read" | "cut",
    message: string,
  ) {
    super(message);
    this.name = "UploadError";
  }
}

export function isUploadedFile(value: unknown): value is UploadedFile {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as UploadedFile).open === "function"
  );
}

/** A `Blob`/`File` given in process (tests, `yoga.fetch` callers) as an {@link UploadedFile}. */
export function blobUpload(blob: Blob & { name?: string }): UploadedFile {
  let read = false;
  return {
    async open() {
      if (read) throw new UploadError("already-read", "The file was already read.");
      read = true;
      const body = blob.stream() as unknown as AsyncIterable<Uint8Array>;
      return { name: blob.name ?? "", type: blob.type || "application/octet-stream", body };
    },
  };
}
