import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";

/** One request over a real socket, with the body's bytes as sent (fetch would decompress them). */
function raw(
  url: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (part: Buffer) => parts.push(part));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const page = new URL("../../web/dist/index.html", import.meta.url);

describe("static pages over a real socket", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway({}, { CHAT_PAGE: "true", GRAPHIQL: "true" });
  });
  afterAll(() => harness?.close());

  it("serves the chat page at / compressed, with a validator, the policy for its own host, and 304 on reload", async () => {
    const { url } = harness.gateway;
    const first = await raw(`${url}/`, { "accept-encoding": "br" });
    expect(first.status).toBe(200);
    expect(first.headers["content-encoding"]).toBe("br");
    expect(first.headers.vary).toBe("Accept-Encoding");
    expect(brotliDecompressSync(first.body).toString()).toBe(await readFile(page, "utf8"));
    // The browser's Host header names the socket origin the page may open.
    const host = new URL(url).host;
    expect(first.headers["content-security-policy"]).toContain(`connect-src 'self' ws://${host}`);
    const etag = String(first.headers.etag);
    const reload = await raw(`${url}/`, { "accept-encoding": "br", "if-none-match": etag });
    expect(reload.status).toBe(304);
    expect(reload.body.byteLength).toBe(0);

    const head = await raw(`${url}/`, { "accept-encoding": "br" }, "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(Number(head.headers["content-length"])).toBe(first.body.byteLength);

    const script = /src="(\/assets\/app-\w+\.js)"/.exec(await readFile(page, "utf8"))![1]!;
    const asset = await raw(`${url}${script}`, { "accept-encoding": "gzip" });
    expect(asset.status).toBe(200);
    expect(asset.headers["content-encoding"]).toBe("gzip");
    expect(asset.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(gunzipSync(asset.body).byteLength).toBeGreaterThan(asset.body.byteLength);
  });

  it("serves GraphiQL with brotli or gzip as asked, with an ETag, and 304 on reload", async () => {
    const graphiql = `${harness.gateway.url}/graphql`;
    const html = { accept: "text/html" };
    const plain = await raw(graphiql, html);
    const br = await raw(graphiql, { ...html, "accept-encoding": "br" });
    const gzip = await raw(graphiql, { ...html, "accept-encoding": "gzip" });
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(br.headers["content-encoding"]).toBe("br");
    expect(gzip.headers["content-encoding"]).toBe("gzip");
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
    expect(gunzipSync(gzip.body).equals(plain.body)).toBe(true);
    for (const response of [plain, br, gzip]) {
      expect(response.headers.etag).toMatch(/^"[\w-]+"$/);
      expect(response.headers["cache-control"]).toBe("no-cache");
    }
    expect(br.body.byteLength).toBeLessThan(plain.body.byteLength / 4);
    expect(gzip.body.byteLength).toBeLessThan(plain.body.byteLength / 3);
    const reload = await raw(graphiql, {
      ...html,
      "accept-encoding": "br",
      "if-none-match": String(br.headers.etag),
    });
    expect(reload.status).toBe(304);
    expect(reload.body.byteLength).toBe(0);
    process.stdout.write(
      `GraphiQL bytes: ${plain.body.byteLength} raw, ${gzip.body.byteLength} gzip, ${br.body.byteLength} br, 0 on a revalidated reload\n`,
    );
  });
});

describe("GET / with the chat page off", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startGateway({}, { CHAT_PAGE: "false", GRAPHIQL: "true" });
  });
  afterAll(() => harness?.close());

  it("redirects to GraphiQL, and serves no chat assets", async () => {
    const root = await raw(`${harness.gateway.url}/`, { accept: "text/html" });
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe("/graphql");
    const script = /src="(\/assets\/app-\w+\.js)"/.exec(await readFile(page, "utf8"))![1]!;
    expect((await raw(`${harness.gateway.url}${script}`)).status).toBe(404);
  });
});
