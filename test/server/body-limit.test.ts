import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { type InProcessGateway, startInProcessGateway } from "../helpers/in-process.ts";

const QUERY = JSON.stringify({ query: "{ __typename }" });
const json = { "content-type": "application/json" };

/** A body sent without `Content-Length` (chunked): `pad` spaces of valid JSON whitespace first. */
function chunked(pad: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (let left = pad; left > 0; left -= 100) {
        controller.enqueue(encoder.encode(" ".repeat(Math.min(100, left))));
      }
      controller.enqueue(encoder.encode(QUERY));
      controller.close();
    },
  });
}

const send = (url: string, body: BodyInit, fetchFn: typeof fetch = fetch) =>
  fetchFn(url, { method: "POST", headers: json, body, duplex: "half" } as RequestInit);

// The cap counts only bodies that declare no length; these check that such a body still arrives
// whole under the cap, and is refused past it, over a socket and in process.
describe("body limit over HTTP", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway({}, { MAX_BODY_BYTES: "1024" });
  });
  afterAll(() => harness?.close());

  it("serves a chunked body under the cap, read whole", async () => {
    const response = await send(harness.gateway.graphqlUrl, chunked(900));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("refuses a chunked body past the cap with 413 and the code", async () => {
    const response = await send(harness.gateway.graphqlUrl, chunked(1100));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      errors: [{ extensions: { code: "REQUEST_ENTITY_TOO_LARGE" } }],
    });
  });

  it("serves a declared body of exactly the cap", async () => {
    const body = QUERY.padStart(1024, " ");
    const response = await send(harness.gateway.graphqlUrl, body);
    expect(response.status).toBe(200);
  });

  it("keeps serving on the same connection after a refusal", async () => {
    expect((await send(harness.gateway.graphqlUrl, chunked(5000))).status).toBe(413);
    expect((await send(harness.gateway.graphqlUrl, QUERY)).status).toBe(200);
  });
});

describe("body limit in process", () => {
  let harness: InProcessGateway;
  beforeAll(async () => {
    harness = await startInProcessGateway({ MAX_BODY_BYTES: "1024" });
  });
  afterAll(() => harness?.close());

  const fetchIn = ((url: string, init: RequestInit) =>
    Promise.resolve(harness.yoga.fetch(url, init))) as typeof fetch;

  it("counts a streamed Fetch body, which has no Node stream", async () => {
    const url = "http://gateway.test/graphql";
    expect((await send(url, chunked(900), fetchIn)).status).toBe(200);
    const refused = await send(url, chunked(1100), fetchIn);
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({
      errors: [{ extensions: { code: "REQUEST_ENTITY_TOO_LARGE" } }],
    });
  });

  it("refuses a declared length past the cap before reading the body", async () => {
    const response = await harness.yoga.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { ...json, "content-length": "5000" },
      body: QUERY,
    });
    expect(response.status).toBe(413);
  });
});
