/**
 * The multipart reader on its own, with a body the test feeds piece by piece, so the order of
 * "a resolver waits for a file" and "a part arrives" is chosen rather than left to timing: a part
 * that arrives while a resolver already waits for another one must be skipped there and then,
 * or the parser holds the body up behind it and the waiting resolver never gets its file.
 */
import { describe, expect, it } from "vitest";
import { MultipartRequest } from "../../src/server/transports/multipart.ts";
import type { UploadedFile } from "../../src/uploads/file.ts";

const BOUNDARY = "----order-boundary-19c2";
const encoder = new TextEncoder();

// Each piece ends with the next delimiter, as a client's stream does: the parser only knows a
// field has ended when it sees the delimiter after it.
const field = (name: string, value: string) =>
  `\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n--${BOUNDARY}`;
const filePart = (name: string, filename: string, content: string) =>
  `\r\ncontent-disposition: form-data; name="${name}"; filename="${filename}"\r\n` +
  `content-type: text/plain\r\n\r\n${content}\r\n--${BOUNDARY}`;
const END = "--\r\n";

/** A request body whose pieces the test sends when it chooses. */
function controlledBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    body,
    send: (text: string) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
  };
}

async function readAll(file: UploadedFile): Promise<{ name: string; text: string }> {
  const opened = await file.open();
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of opened.body) text += decoder.decode(chunk, { stream: true });
  return { name: opened.name, text };
}

/** A request for two files, `a` and `b`, once its `operations` and `map` are read. */
async function twoFileRequest() {
  const sent = controlledBody();
  const request = new MultipartRequest(sent.body, `multipart/form-data; boundary=${BOUNDARY}`, {
    maxBytes: 10_000_000,
    maxFiles: 2,
    maxFieldBytes: 100_000,
  });
  sent.send(
    `--${BOUNDARY}` +
      field(
        "operations",
        JSON.stringify({ query: "{ __typename }", variables: { a: null, b: null } }),
      ) +
      field("map", JSON.stringify({ 0: ["variables.a"], 1: ["variables.b"] })),
  );
  const { variables } = (await request.params) as {
    variables: { a: UploadedFile; b: UploadedFile };
  };
  return { sent, variables };
}

// Larger than the parser's and the part stream's buffers: unread, it holds the body up.
const BIG = "x".repeat(1_000_000);

describe("multipart parts and the resolvers waiting for them", () => {
  it("skips a part that arrives while a resolver already waits for another one", async () => {
    const { sent, variables } = await twoFileRequest();
    // The resolver for `a` waits before any file part has come.
    const a = readAll(variables.a);
    sent.send(filePart("1", "late.txt", BIG));
    sent.send(filePart("0", "early.txt", "early bytes"));
    sent.send(END);
    sent.end();
    await expect(a).resolves.toEqual({ name: "early.txt", text: "early bytes" });
    await expect(variables.b.open()).rejects.toMatchObject({
      reason: "out-of-order",
      message: "Files must be sent in the order the operation reads them.",
    });
  });

  it("keeps a part that arrives before anyone waits, for the resolver that opens it next", async () => {
    const { sent, variables } = await twoFileRequest();
    sent.send(filePart("0", "first.txt", BIG));
    sent.send(filePart("1", "second.txt", "second bytes"));
    sent.send(END);
    sent.end();
    // Read in the order sent, one after the other, as serial mutation fields do.
    await expect(readAll(variables.a)).resolves.toEqual({ name: "first.txt", text: BIG });
    await expect(readAll(variables.b)).resolves.toEqual({
      name: "second.txt",
      text: "second bytes",
    });
  });

  it("hands a part to the resolver that was waiting for it when it arrived", async () => {
    const { sent, variables } = await twoFileRequest();
    const a = readAll(variables.a);
    sent.send(filePart("0", "first.txt", BIG));
    await expect(a).resolves.toEqual({ name: "first.txt", text: BIG });
    const b = readAll(variables.b);
    sent.send(filePart("1", "second.txt", "second bytes"));
    sent.send(END);
    sent.end();
    await expect(b).resolves.toEqual({ name: "second.txt", text: "second bytes" });
  });
});
