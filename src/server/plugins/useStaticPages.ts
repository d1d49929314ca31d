import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { GraphiQLOptions, Plugin } from "graphql-yoga";
import { precompress, respond, type StaticBody } from "./precompressed.ts";

type OnRequest = Parameters<NonNullable<Plugin["onRequest"]>>[0];

export interface StaticPagesOptions {
  /**
   * Serve the chat page (`index.html` of {@link chatPageDir}) at `/`, and its assets.
   * @default false
   */
  chatPage?: boolean;
  /**
   * The built chat page: `index.html` and `assets/` with content-hashed names, as written by
   * `npm run build:web`.
   * @default "<repository>/web/dist"
   */
  chatPageDir?: string;
  /**
   * Serve GraphiQL to browsers at the GraphQL endpoint with these options; unset, no GraphiQL.
   * @default undefined
   */
  graphiql?: GraphiQLOptions;
  /**
   * Where GraphiQL lives, and where `/` redirects when the chat page is off.
   * @default "/graphql"
   */
  graphqlEndpoint?: string;
}

/** src/server/plugins/ and dist/server/plugins/ both sit three levels below the repository. */
const DEFAULT_CHAT_PAGE_DIR = fileURLToPath(new URL("../../../web/dist", import.meta.url));

const HTML = "text/html; charset=utf-8";
const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json; charset=utf-8",
};

/** HTML is revalidated on every load (a 304 when unchanged), so a new build is seen at once. */
const REVALIDATE = "no-cache";
/** Asset names carry a hash of their content: a new build is a new URL, so this one never changes. */
const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * The browser-facing pages: the chat page at `/` (else a redirect to GraphiQL when that is on,
 * else Yoga's 404), its hashed assets, and GraphiQL itself. Yoga's own GraphiQL handler renders
 * the 9 MB page on every request and sends it uncompressed and uncached; here it is rendered and
 * compressed once, on first use, and revalidated with an ETag, like the chat page's HTML.
 */
export function useStaticPages(options: StaticPagesOptions): Plugin {
  const endpoint = options.graphqlEndpoint ?? "/graphql";
  const chatPage = options.chatPage ? readChatPage(options.chatPageDir) : undefined;
  const { graphiql } = options;
  const graphiqlPage = graphiql
    ? // GraphiQL with its scripts inlined, instead of Yoga's page that loads them from a CDN: the
      // gateway is meant to work offline, where a CDN-backed page would stay blank. The module
      // holding those scripts is imported on first use only: loaded, it takes ~32 MiB of heap
      // and ~70 MiB of RSS, which a gateway with GraphiQL off (production's default) never needs.
      onFirstUse(async () => {
        const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
        return precompress(renderGraphiQL(graphiql), HTML);
      })
    : undefined;

  const isGraphiql = (pathname: string) => pathname === endpoint || pathname === `${endpoint}/`;
  const serve = async ({ request, url, endResponse }: OnRequest) => {
    const { pathname } = url;
    if (graphiqlPage && isGraphiql(pathname)) {
      endResponse(respond(request, await graphiqlPage(), { "cache-control": REVALIDATE }));
      return;
    }
    if (pathname === "/") {
      if (chatPage) {
        endResponse(
          readOnly(request) ??
            respond(request, await chatPage.html(), {
              "cache-control": REVALIDATE,
              ...pageSecurityHeaders(url),
            }),
        );
      } else if (graphiqlPage) {
        endResponse(
          new Response(null, {
            status: 302,
            headers: { location: endpoint, "cache-control": REVALIDATE },
          }),
        );
      }
      return;
    }
    if (chatPage && pathname.startsWith("/assets/")) {
      const asset = chatPage.assets.get(pathname.slice("/assets/".length));
      if (!asset) return; // Yoga's 404
      endResponse(
        readOnly(request) ??
          respond(request, await asset(), {
            "cache-control": IMMUTABLE,
            "x-content-type-options": "nosniff",
          }),
      );
    }
  };

  return {
    // Not `async`: an operation, which is most requests, must not get a promise from here, or
    // the rest of Yoga's `onRequest` hooks would run through promise chains for nothing.
    onRequest(payload) {
      const { pathname } = payload.url;
      const ours =
        pathname === "/" ||
        (graphiqlPage !== undefined && isGraphiql(pathname) && wantsHtml(payload.request)) ||
        (chatPage !== undefined && pathname.startsWith("/assets/"));
      if (ours) return serve(payload);
    },
  };
}

/** The built chat page, read once; each file is compressed on its first request. */
function readChatPage(dir = DEFAULT_CHAT_PAGE_DIR) {
  const indexFile = path.join(dir, "index.html");
  if (!existsSync(indexFile)) {
    throw new Error(
      `CHAT_PAGE is on but the chat page is not built (${indexFile} is missing): run npm run build:web, or set CHAT_PAGE=false`,
    );
  }
  const html = readFileSync(indexFile);
  const assetsDir = path.join(dir, "assets");
  const assets = new Map<string, () => Promise<StaticBody>>();
  for (const name of existsSync(assetsDir) ? readdirSync(assetsDir) : []) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (!type) continue;
    const content = readFileSync(path.join(assetsDir, name));
    assets.set(
      name,
      onFirstUse(() => precompress(content, type)),
    );
  }
  return { html: onFirstUse(() => precompress(html, HTML)), assets };
}

const PLAIN_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * What the chat page may do: its own scripts and styles only (no inline code, no CDN, no
 * external fonts), and network access only to this gateway, over HTTP and WebSocket. The
 * WebSocket origins are spelled out because `'self'` covers ws: only in CSP Level 3 browsers;
 * both schemes, since behind a TLS-terminating proxy the page's socket is wss:.
 */
function pageSecurityHeaders(url: URL): Record<string, string> {
  // `url.host` comes from the client's Host header, and the URL parser lets `;` and `,`
  // through: only a plain host name or address is written into the policy.
  const sockets = PLAIN_HOST.test(url.host) ? ` ws://${url.host} wss://${url.host}` : "";
  return {
    "content-security-policy": [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self'",
      `connect-src 'self'${sockets}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
  };
}

/** GraphiQL's test, as Yoga applies it, plus HEAD. */
function wantsHtml(request: Request): boolean {
  return (
    (request.method === "GET" || request.method === "HEAD") &&
    (request.headers.get("accept") ?? "").includes("text/html")
  );
}

/** A 405 for anything but GET and HEAD on a static path; undefined when the method is fine. */
function readOnly(request: Request): Response | undefined {
  if (request.method === "GET" || request.method === "HEAD") return undefined;
  return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
}

/** `make`, run on the first call only; a failure is not kept, so the next call tries again. */
function onFirstUse<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= make().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
