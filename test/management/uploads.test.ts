/**
 * Uploads over real HTTP: bad input gets a clear error and costs no upstream request (never a
 * 500), the multipart request's own caps, several files in one request, and the file streamed:
 * the upstream request starts while the client is still sending it.
 */
import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import {
  CREATE_INSTANCE,
  CREATE_NAMESPACE,
  multipartPost,
  requestsTo,
  UPLOAD,
  uploadItem,
} from "./helpers.ts";

const NS = "upload-space";
const ID = "upload-docs";
const MAX_UPLOAD_BYTES = 200_000;
const target = { namespace: NS, instanceId: ID };

let harness: GatewayHarness;
const url = () => harness.gateway.graphqlUrl;
const uploadsSent = () => requestsTo(harness.local, "/items", "POST");

beforeAll(async () => {
  harness = await startGateway(
    { indexingStepMs: 5 },
    { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), MAX_UPLOAD_FILES: "2" },
  );
  await harness.graphql(CREATE_NAMESPACE, { input: { name: NS } });
  await harness.graphql(CREATE_INSTANCE, { input: { namespace: NS, instanceId: ID } });
});
afterAll(() => harness?.close());
afterEach(() => harness.local.resetRequests());

const code = (body: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  body.errors?.[0]?.extensions?.code;

describe("bad uploads", () => {
  it.each([
    ["a key with a quote", { key: 'say"hi".md' }, "a.md", "# A\n\ntext"],
    ["a key with a .. segment", { key: "../escape.md" }, "a.md", "# A\n\ntext"],
    ["a file name that is not a key", {}, "notes//double.md", "# A\n\ntext"],
    ["a non-ASCII key", { key: "café.md" }, "a.md", "# A\n\ntext"],
    ["an empty file", {}, "empty.md", ""],
    ["metadata that is not an object of scalars", { metadata: { nested: { a: 1 } } }, "m.md", "x"],
  ])(
    "refuses %s with BAD_USER_INPUT and no upstream request",
    async (_name, input, filename, content) => {
      const { status, body } = await uploadItem(
        url(),
        { ...target, ...input },
        { filename, content },
      );
      expect(status).toBe(200);
      expect(code(body)).toBe("BAD_USER_INPUT");
      expect(body.data?.uploadItem ?? null).toBeNull();
      expect(uploadsSent()).toBe(0);
    },
  );

  it("refuses a body over MAX_UPLOAD_BYTES by its Content-Length, before reading it", async () => {
    const { status, body } = await uploadItem(url(), target, {
      filename: "large.txt",
      content: "x".repeat(MAX_UPLOAD_BYTES),
    });
    expect(status).toBe(413);
    expect(code(body)).toBe("REQUEST_ENTITY_TOO_LARGE");
    expect(uploadsSent()).toBe(0);
  });

  it("refuses more files than MAX_UPLOAD_FILES before running anything", async () => {
    const files = [0, 1, 2].map((n) => ({
      path: `variables.f${n}`,
      filename: `f${n}.md`,
      content: "# F\n\nfile",
    }));
    const { status, body } = await multipartPost(
      url(),
      'mutation($f0: File!, $f1: File!, $f2: File!) { a: uploadItem(input: { namespace: "upload-space", instanceId: "upload-docs", file: $f0 }) { item { key } } }',
      { f0: null, f1: null, f2: null },
      files,
    );
    expect(status).toBe(413);
    expect(body.errors?.[0]?.extensions).toMatchObject({
      code: "REQUEST_ENTITY_TOO_LARGE",
      limit: "files",
    });
    expect(uploadsSent()).toBe(0);
  });

  it("refuses a multipart POST without a preflight header (CSRF)", async () => {
    const { status, body } = await uploadItem(
      url(),
      target,
      { filename: "a.md", content: "x" },
      {},
    );
    expect(status).toBe(403);
    expect(code(body)).toBe("CSRF_PREVENTED");
    expect(uploadsSent()).toBe(0);
  });

  it.each([
    ["no operations field", (form: FormData) => form.set("map", "{}")],
    ["operations that are not JSON", (form: FormData) => form.set("operations", "{oops")],
    [
      "a map path outside the variables",
      (form: FormData) => {
        form.set(
          "operations",
          JSON.stringify({ query: UPLOAD, variables: { input: { file: null } } }),
        );
        form.set("map", JSON.stringify({ 0: ["query"] }));
        form.set("0", new Blob(["x"]), "a.md");
      },
    ],
    [
      "a map path to a value that is not null",
      (form: FormData) => {
        form.set(
          "operations",
          JSON.stringify({ query: UPLOAD, variables: { input: { file: 1 } } }),
        );
        form.set("map", JSON.stringify({ 0: ["variables.input.file"] }));
        form.set("0", new Blob(["x"]), "a.md");
      },
    ],
    [
      "a file before the map",
      (form: FormData) => {
        form.set(
          "operations",
          JSON.stringify({ query: UPLOAD, variables: { input: { file: null } } }),
        );
        form.set("0", new Blob(["x"]), "a.md");
        form.set("map", JSON.stringify({ 0: ["variables.input.file"] }));
      },
    ],
  ])("answers %s with 400 BAD_REQUEST", async (_name, fill) => {
    const form = new FormData();
    fill(form);
    const response = await fetch(url(), {
      method: "POST",
      headers: { accept: "application/json", "graphql-require-preflight": "1" },
      body: form,
    });
    expect(response.status).toBe(400);
    expect(code(await response.json())).toBe("BAD_REQUEST");
    expect(uploadsSent()).toBe(0);
  });

  it("refuses a file sent as a JSON variable, and a file part that never comes", async () => {
    const json = await harness.graphql(UPLOAD, { input: { ...target, file: "not a file" } });
    expect(json.status).toBeLessThan(500);
    expect(code(json.body)).toBe("BAD_USER_INPUT");
    const form = new FormData();
    form.set(
      "operations",
      JSON.stringify({ query: UPLOAD, variables: { input: { ...target, file: null } } }),
    );
    form.set("map", JSON.stringify({ 0: ["variables.input.file"] }));
    const never = await fetch(url(), {
      method: "POST",
      headers: { accept: "application/json", "graphql-require-preflight": "1" },
      body: form,
    });
    expect(never.status).toBe(200);
    expect(code(await never.json())).toBe("BAD_USER_INPUT");
    expect(uploadsSent()).toBe(0);
  });
});

describe("several files in one request", () => {
  const TWO = `mutation($a: File!, $b: File!) {
    first: uploadItem(input: { namespace: "upload-space", instanceId: "upload-docs", file: $a }) { item { key } userErrors { code } }
    second: uploadItem(input: { namespace: "upload-space", instanceId: "upload-docs", file: $b }) { item { key } userErrors { code } }
  }`;

  it("streams each in turn when they are sent in the order the operation reads them", async () => {
    const { body } = await multipartPost(url(), TWO, { a: null, b: null }, [
      { path: "variables.a", filename: "pair/one.md", content: "# One\n\nfirst" },
      { path: "variables.b", filename: "pair/two.md", content: "# Two\n\nsecond" },
    ]);
    expect(body).toEqual({
      data: {
        first: { item: { key: "pair/one.md" }, userErrors: [] },
        second: { item: { key: "pair/two.md" }, userErrors: [] },
      },
    });
    expect(uploadsSent()).toBe(2);
  });

  it("refuses, rather than stalls, a file sent before one the operation reads first", async () => {
    const { body } = await multipartPost(url(), TWO, { a: null, b: null }, [
      // Larger than the parser's buffers: it holds the body up until someone reads it.
      {
        path: "variables.b",
        filename: "order/late.md",
        content: `# Late\n\n${"sent first ".repeat(10_000)}`,
      },
      { path: "variables.a", filename: "order/early.md", content: "# Early\n\nsent second" },
    ]);
    // The payloads are non-null, so the second field's error nulls `data`; the first ran.
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([
      expect.objectContaining({
        path: ["second"],
        message: "Files must be sent in the order the operation reads them.",
        extensions: expect.objectContaining({ code: "BAD_USER_INPUT" }),
      }),
    ]);
    expect(uploadsSent()).toBe(1);
    const stored = await harness.graphql(
      `query { instance(namespace: "upload-space", id: "upload-docs") { early: item(key: "order/early.md") { key } late: item(key: "order/late.md") { key } } }`,
    );
    expect(stored.body).toEqual({
      data: { instance: { early: { key: "order/early.md" }, late: null } },
    });
  });
});

/** A multipart body the test sends by hand, in two pieces, to see what happens in between. */
function handSentUpload(key: string, fileBytes: number) {
  const boundary = "----test-boundary-7d3a";
  const operations = JSON.stringify({
    query: UPLOAD,
    variables: { input: { ...target, file: null } },
  });
  const head = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.file"]}\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="0"; filename="${key}"\r\ncontent-type: text/plain\r\n\r\n`,
  );
  const first = Buffer.alloc(64 * 1024, "a");
  const rest = Buffer.alloc(fileBytes - first.length, "b");
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const address = new URL(url());
  const sending: { req?: ReturnType<typeof httpRequest> } = {};
  type Answer = {
    status: number;
    body: { data?: { uploadItem: unknown }; errors: { extensions: { code: string } }[] };
  };
  const response = new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      {
        host: address.hostname,
        port: address.port,
        path: address.pathname,
        method: "POST",
        headers: {
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "graphql-require-preflight": "1",
          accept: "application/json",
          // No Content-Length: chunked, so only counting can enforce the cap.
          "transfer-encoding": "chunked",
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (part) => {
          text += part;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    sending.req = req;
  });
  return {
    response,
    sendStart: () => sending.req!.write(Buffer.concat([head, first])),
    sendRest: () => sending.req!.end(Buffer.concat([rest, tail])),
  };
}

describe("streaming", () => {
  it("starts the upstream upload before the client has sent the whole file", async () => {
    const upload = handSentUpload("streamed/big.txt", MAX_UPLOAD_BYTES - 2_000);
    upload.sendStart();
    // Had the gateway buffered the file, the upstream would hear nothing until the client ends.
    await vi.waitFor(() => expect(uploadsSent()).toBe(1), { timeout: 5_000 });
    upload.sendRest();
    const { status, body } = await upload.response;
    expect(status).toBe(200);
    expect(body.data?.uploadItem).toMatchObject({
      item: { key: "streamed/big.txt", fileSize: MAX_UPLOAD_BYTES - 2_000 },
      userErrors: [],
    });
  });

  it("cuts an upload that streams past MAX_UPLOAD_BYTES, and the upstream keeps nothing", async () => {
    const upload = handSentUpload("streamed/too-big.txt", MAX_UPLOAD_BYTES + 50_000);
    upload.sendStart();
    await vi.waitFor(() => expect(uploadsSent()).toBe(1), { timeout: 5_000 });
    upload.sendRest();
    const { status, body } = await upload.response;
    expect(status).toBe(413);
    expect(body.errors[0]?.extensions.code).toBe("REQUEST_ENTITY_TOO_LARGE");
    await harness.local.waitForAbort("/items");
    const listed = await harness.graphql(
      `query { instance(namespace: "upload-space", id: "upload-docs") { item(key: "streamed/too-big.txt") { key } } }`,
    );
    expect(listed.body).toEqual({ data: { instance: { item: null } } });
  });
});
