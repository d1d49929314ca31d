/**
 * Who may hold a graphql-ws connection: the verdict on its credentials, the admission that gives
 * it, and which pages may open a socket at all. Kept apart from the transport because the
 * pipeline (`createGatewayYoga`) builds the admission from its own checks.
 */
import type { ServerContext } from "../server-context.ts";

export type Admission =
  /** `router`: a trusted router's connection, which may name an end user per operation. */
  { ok: true; clientId: string; router?: boolean } | { ok: false; reason: "missing" | "invalid" };

/** How a connection is let in; `createGatewayYoga` builds it from the pipeline's own checks. */
export interface ConnectionAdmission {
  /** The pass-through header `cloudflareApiToken` is moved to; unset when pass-through is off. */
  passThroughHeader?: string;
  /** Who the connection is, from its normalised headers, or why it is refused (4401, 4403). */
  admit(headers: Headers, context: ServerContext): Promise<Admission>;
}

/**
 * Whether a page at `origin` may open a socket on a server reached as `host`: same-origin, or
 * listed. Only host and port are compared, since behind a TLS proxy the page is `https:` while
 * the request reaching us is plain; the page's scheme reads `host` so default ports match.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: ReadonlySet<string>,
): boolean {
  if (origin === undefined) return true;
  if (allowed.has(origin)) return true;
  if (host === undefined) return false;
  try {
    const page = new URL(origin);
    if (page.protocol !== "http:" && page.protocol !== "https:") return false;
    return new URL(`${page.protocol}//${host}`).host === page.host;
  } catch {
    // `null` (sandboxed frames, files), joined repeats and other junk: not an origin we know.
    return false;
  }
}
