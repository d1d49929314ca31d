import type { Plugin } from "graphql-yoga";

export interface CorsOptions {
  /** Exact origins (`https://app.example`) whose pages may call the gateway from a browser. */
  origins: readonly string[];
  /**
   * Let allowed pages send cookies and HTTP auth (`credentials: "include"`), e.g. for an access
   * proxy in front of the gateway. Only ever granted to an origin on the list.
   * @default true
   */
  credentials?: boolean;
  /**
   * How long a browser may cache a preflight answer, in seconds.
   * @default 600
   */
  maxAgeSeconds?: number;
  /**
   * Response headers a page may read besides the CORS-safelisted ones.
   * @default ["retry-after", "x-request-id"]
   */
  exposedHeaders?: readonly string[];
}

/**
 * A CORS allowlist. Only an origin on the list gets `Access-Control-Allow-*` headers, with its
 * own value reflected; any other origin gets none, so its browser withholds the response.
 *
 * Used instead of Yoga's `cors` option, whose defaults reflect every origin with credentials, and
 * whose list mode answers a foreign origin with `Access-Control-Allow-Origin: null` (which a
 * sandboxed iframe's opaque origin matches) and a one-entry list with that entry whatever the
 * caller, without `Vary: Origin`.
 */
export function useCors(options: CorsOptions): Plugin {
  const allowed = new Set(options.origins);
  const credentials = options.credentials ?? true;
  const maxAge = String(options.maxAgeSeconds ?? 600);
  const exposed = (options.exposedHeaders ?? ["retry-after", "x-request-id"]).join(", ");

  const allowedOrigin = (request: Request) => {
    const origin = request.headers.get("origin");
    return origin !== null && allowed.has(origin) ? origin : undefined;
  };

  return {
    onRequest({ request, endResponse }) {
      if (request.method !== "OPTIONS") return;
      const headers = new Headers({ "content-length": "0", vary: "Origin" });
      const origin = allowedOrigin(request);
      if (origin) {
        headers.set("access-control-allow-origin", origin);
        headers.set("access-control-allow-methods", "GET, POST");
        // Reflecting the requested headers is safe once the origin itself is trusted, and keeps
        // auth, pass-through and CSRF headers working without a second list to maintain.
        const requested = request.headers.get("access-control-request-headers");
        if (requested) headers.set("access-control-allow-headers", requested);
        headers.set("access-control-max-age", maxAge);
        if (credentials) headers.set("access-control-allow-credentials", "true");
        headers.append("vary", "Access-Control-Request-Headers");
      }
      endResponse(new Response(null, { status: 204, headers }));
    },
    onResponse({ request, response }) {
      // Caches must not hand one origin's answer to another.
      if (!response.headers.get("vary")?.toLowerCase().includes("origin")) {
        response.headers.append("vary", "Origin");
      }
      if (request.method === "OPTIONS") return;
      const origin = allowedOrigin(request);
      if (!origin) return;
      response.headers.set("access-control-allow-origin", origin);
      if (credentials) response.headers.set("access-control-allow-credentials", "true");
      if (exposed) response.headers.set("access-control-expose-headers", exposed);
    },
  };
}
