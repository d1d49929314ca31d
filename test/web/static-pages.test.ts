import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { createSchema, createYoga } from "graphql-yoga";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { useStaticPages } from "../../src/server/plugins/useStaticPages.ts";
import { createGatewayYoga } from "../../src/server/yoga.ts";
import { AiSearchClient } from "../../src/upstream/client.ts";

const ORIGIN = "http://gateway.test";
// Repetitive enough that both encodings shrink it, as they do real pages.
const HTML = `<!doctype html><title>t</title>${"<p>chat page</p>\n".repeat(200)}`;
const SCRIPT = `console.log(${JSON.stringify("x".repeat(50))});\n`.repeat(60);
const STYLE = "body { color: red; }\n".repeat(60);

let dir: string;
let yoga: ReturnType<typeof createYoga>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "chat-page-"));
  await mkdir(path.join(dir, "assets"));
  await writeFile(path.join(dir, "index.html"), HTML);
  await writeFile(path.join(dir, "assets", "app-TEST1234.js"), SCRIPT);
  await writeFile(path.join(dir, "assets", "app-TEST1234.css"), STYLE);
  await writeFile(path.join(dir, "assets", "notes.txt"), "not an asset type");
  yoga = createYoga({
    schema: createSchema({ typeDefs: "type Query { hello: String }", resolvers: {} }),
    logging: false,
    graphiql: false,
    landingPage: false,
    plugins: [useStaticPages({ chatPage: true, chatPageDir: dir, graphiql: { title: "t" } })],
  });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const get = (pathname: string, headers: Record<string, string> = {}, method = "GET") =>
  yoga.fetch(`${ORIGIN}${pathname}`, { method, headers });

function decode(body: ArrayBuffer, encoding: string | null): string {
  const bytes = Buffer.from(body);
  if (encoding === "br") return brotliDecompressSync(bytes).toString();
  if (encoding === "gzip") return gunzipSync(bytes).toString();
  return bytes.toString();
}

describe("useStaticPages: encodings", () => {
  it.each([
    { acceptEncoding: "br", sent: "br" },
    { acceptEncoding: "gzip", sent: "gzip" },
    { acceptEncoding: "gzip, deflate, br, zstd", sent: "br" },
    { acceptEncoding: "br;q=0.5, gzip", sent: "gzip" },
    { acceptEncoding: "br;q=0, *", sent: "gzip" },
    { acceptEncoding: "*", sent: "br" },
    { acceptEncoding: "identity", sent: null },
    { acceptEncoding: "gzip;q=0, br;q=0, identity;q=0", sent: null },
    { acceptEncoding: undefined, sent: null },
  ])("Accept-Encoding $acceptEncoding gets $sent", async ({ acceptEncoding, sent }) => {
    const response = await get("/", acceptEncoding ? { "accept-encoding": acceptEncoding } : {});
    expect(response.status).toBe(200);
    expect(response.headers.get("content-encoding")).toBe(sent);
    expect(response.headers.get("vary")).toBe("Accept-Encoding");
    const body = await response.arrayBuffer();
    expect(Number(response.headers.get("content-length"))).toBe(body.byteLength);
    expect(decode(body, sent)).toBe(HTML);
    if (sent) expect(body.byteLength).toBeLessThan(Buffer.byteLength(HTML));
  });

  it("gives each encoding its own strong ETag", async () => {
    const tags = await Promise.all(
      ["br", "gzip", "identity"].map(async (encoding) => {
        const response = await get("/", { "accept-encoding": encoding });
        return response.headers.get("etag");
      }),
    );
    for (const tag of tags) expect(tag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(new Set(tags).size).toBe(3);
  });
});

describe("useStaticPages: validators and methods", () => {
  it("answers 304 to If-None-Match with the form's ETag (weak or strong), 200 to another", async () => {
    const first = await get("/", { "accept-encoding": "br" });
    const etag = first.headers.get("etag")!;
    const gzipTag = (await get("/", { "accept-encoding": "gzip" })).headers.get("etag")!;
    for (const candidate of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const again = await get("/", { "accept-encoding": "br", "if-none-match": candidate });
      expect(again.status, candidate).toBe(304);
      expect(await again.text()).toBe("");
      expect(again.headers.get("etag")).toBe(etag);
      expect(again.headers.get("cache-control")).toBe("no-cache");
      expect(again.headers.get("vary")).toBe("Accept-Encoding");
    }
    // The client holds the gzip form but now asks for brotli: it needs the brotli bytes.
    const other = await get("/", { "accept-encoding": "br", "if-none-match": gzipTag });
    expect(other.status).toBe(200);
    expect(other.headers.get("content-encoding")).toBe("br");
  });

  it("answers HEAD with GET's headers and no body", async () => {
    const full = await get("/", { "accept-encoding": "gzip" });
    const head = await get("/", { "accept-encoding": "gzip" }, "HEAD");
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    for (const name of ["content-length", "content-encoding", "etag", "content-type"]) {
      expect(head.headers.get(name), name).toBe(full.headers.get(name));
    }
    expect(Number(head.headers.get("content-length"))).toBe((await full.arrayBuffer()).byteLength);
  });

  it("refuses other methods on the page with 405 and Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await get("/", {}, method);
      expect(response.status, method).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD");
    }
  });

  it("serves hashed assets as immutable, with their type, and nothing else under /assets/", async () => {
    const script = await get("/assets/app-TEST1234.js", { "accept-encoding": "br" });
    expect(script.status).toBe(200);
    expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("x-content-type-options")).toBe("nosniff");
    expect(decode(await script.arrayBuffer(), script.headers.get("content-encoding"))).toBe(SCRIPT);
    const style = await get("/assets/app-TEST1234.css");
    expect(style.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(await style.text()).toBe(STYLE);
    for (const missing of ["/assets/app-OTHER.js", "/assets/notes.txt", "/assets/../index.html"]) {
      expect((await get(missing)).status, missing).toBe(404);
    }
  });
});

describe("useStaticPages: the page's Content-Security-Policy", () => {
  // Over a socket the request URL's host is the Host header; in process it is the URL's.
  const policy = async (origin = ORIGIN) => {
    const response = await yoga.fetch(`${origin}/`);
    return response.headers.get("content-security-policy") ?? "";
  };

  it("allows only the gateway's own scripts, styles and connections", async () => {
    const directives = (await policy()).split("; ");
    expect(directives).toEqual([
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self'",
      "connect-src 'self' ws://gateway.test wss://gateway.test",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]);
    const response = await get("/");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("names the socket origin the browser used, and nothing a Host header smuggles in", async () => {
    expect(await policy("http://127.0.0.1:4000")).toContain(
      "connect-src 'self' ws://127.0.0.1:4000 wss://127.0.0.1:4000;",
    );
    expect(await policy("http://[::1]:4000")).toContain(
      "connect-src 'self' ws://[::1]:4000 wss://[::1]:4000;",
    );
    const smuggled = await policy("http://evil.test;script-src");
    expect(smuggled).toContain("connect-src 'self';");
    expect(smuggled).not.toContain("evil");
  });
});

describe("useStaticPages: GraphiQL", () => {
  it("is compressed once, revalidated with an ETag, and only for browsers", async () => {
    const html = { accept: "text/html", "accept-encoding": "br" };
    const page = await get("/graphql", html);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-encoding")).toBe("br");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const text = decode(await page.arrayBuffer(), "br");
    expect(text).toContain("<title>t</title>");
    const etag = page.headers.get("etag")!;
    const reload = await get("/graphql", { ...html, "if-none-match": etag });
    expect(reload.status).toBe(304);

    // GraphQL requests to the same path are not GraphiQL's.
    const query = await get("/graphql?query=%7Bhello%7D", { accept: "application/json" });
    expect(query.status).toBe(200);
    expect(await query.json()).toEqual({ data: { hello: null } });
  });
});

describe("GET / as configured", () => {
  const upstream = new AiSearchClient({
    baseUrl: "http://127.0.0.1:9/client/v4",
    accountId: "test-account",
    credentials: { kind: "token", token: "unused-token" },
  });
  afterAll(() => upstream.close());
  const root = (env: Record<string, string | undefined>) => {
    const { yoga } = createGatewayYoga(loadConfig({ LOG_LEVEL: "silent", ...env }), upstream);
    return yoga.fetch(`${ORIGIN}/`, { headers: { accept: "text/html" }, redirect: "manual" });
  };

  it.each([
    { env: { NODE_ENV: "development" }, expected: "chat page" },
    { env: { NODE_ENV: "test", CHAT_PAGE: "true", GRAPHIQL: "false" }, expected: "chat page" },
    { env: { NODE_ENV: "test", CHAT_PAGE: "false" }, expected: "redirect" },
    { env: { NODE_ENV: "test", CHAT_PAGE: "false", GRAPHIQL: "false" }, expected: "404" },
    { env: { NODE_ENV: "production", AUTH_REQUIRED: "false" }, expected: "404" },
    {
      env: { NODE_ENV: "production", AUTH_REQUIRED: "false", GRAPHIQL: "true" },
      expected: "redirect",
    },
  ])("$env gets the $expected", async ({ env, expected }) => {
    const response = await root(env);
    if (expected === "chat page") {
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(await response.text()).toMatch(/<script type="module" src="\/assets\/app-\w+\.js">/);
    } else if (expected === "redirect") {
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe("/graphql");
    } else {
      expect(response.status).toBe(404);
    }
  });

  it("refuses to start with CHAT_PAGE on and no built page, naming the fix", () => {
    expect(() =>
      useStaticPages({ chatPage: true, chatPageDir: path.join(dir, "missing") }),
    ).toThrow(/CHAT_PAGE is on but the chat page is not built .*run npm run build:web/);
  });
});
