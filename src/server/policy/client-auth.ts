/**
 * Who is calling: API keys and JWTs, read from request headers. HTTP requests, graphql-ws
 * connections (whose `connection_init` credentials are normalised into headers) and each
 * operation on them are checked by this one verifier, so the transports cannot drift apart.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from "jose";
import type { SecurityConfig } from "../../config.ts";
import { ErrorCode } from "../../error-codes.ts";
import { graphqlErrorBody, jsonResponse } from "../responses.ts";
import { ALL_SCOPES, CLIENT_SCOPES, NO_SCOPES, type Scope, scopesFromClaim } from "./scopes.ts";

/**
 * A stable name for a caller, for rate limits and subscription caps. Never a secret: API keys
 * appear as a short hash, JWTs as their subject, anonymous callers as their address. Behind a
 * trusted router, the caller is the end user the router calls for (their own key or JWT, or the
 * router's `x-end-user-id` for users it authenticated itself), or the router itself.
 */
export interface ClientIdentity {
  id: string;
  kind: "api-key" | "jwt" | "anonymous" | "end-user" | "router";
  /** What the caller may do (scopes.ts): checked per root field by `useScopes`. */
  scopes: ReadonlySet<Scope>;
  /** Set when a trusted router (`x-router-key`) made the call, for an end user or for itself. */
  via?: "router";
  /** That router's own id, `router:` and 16 hex digits of its key's SHA-256. */
  routerId?: string;
}

/** The header a trusted router sends its key in. */
export const ROUTER_KEY_HEADER = "x-router-key";
/** The opaque id of an end user the router authenticated itself; trusted only from a router. */
export const END_USER_HEADER = "x-end-user-id";

/** What the caller sent, before anything is verified. */
export type PresentedCredential =
  | { kind: "none" }
  | { kind: "bearer"; value: string }
  | { kind: "api-key"; value: string }
  /** Unusable as sent: another scheme, two values, odd characters. Never a reason to fall back. */
  | { kind: "malformed" };

export type AuthOutcome =
  | { ok: true; client: ClientIdentity }
  | { ok: false; reason: "missing" | "invalid" };

export interface ClientVerifier {
  /**
   * `anonymous` is who the caller is when it sends nothing and nothing is required. A promise
   * only when there is something to wait for (a JWT, whose keys may be fetched): API keys and
   * anonymous callers are answered at once, so the request path takes no promise for them.
   */
  authenticate(
    presented: PresentedCredential,
    anonymous: ClientIdentity,
  ): AuthOutcome | Promise<AuthOutcome>;
  /** The trusted router whose key this is (its id and what it may do), if any. */
  router(key: string): { id: string; scopes: ReadonlySet<Scope> } | undefined;
  /** How many presented keys' digests are remembered (bounded); for tests. */
  presentedDigests(): number;
}

export interface ClientVerifierOptions {
  /**
   * Allowed clock skew when checking `exp` and `nbf`, in seconds.
   * @default 30
   */
  clockToleranceSeconds?: number;
  /**
   * How long a JWKS download may take before the token is refused, in milliseconds.
   * @default 5000
   */
  jwksTimeoutMs?: number;
}

// RFC 6750 `b64token`, bounded: anything else in a bearer slot is not a credential we issue.
const BEARER_VALUE = /^[A-Za-z0-9\-._~+/]{1,8192}=*$/;
// Visible ASCII without the comma, which is how proxies and Fetch join repeated headers.
const API_KEY_VALUE = /^[\x21-\x2b\x2d-\x7e]{1,512}$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// Opaque to the gateway: visible ASCII without the comma (a repeated header), bounded.
const END_USER_VALUE = /^[\x21-\x2b\x2d-\x7e]{1,256}$/;

/**
 * Reads `authorization: Bearer …` or `x-api-key`. Both at once is refused rather than guessing
 * which one the caller meant.
 */
export function presentedCredential(
  authorization: string | null | undefined,
  apiKey: string | null | undefined,
): PresentedCredential {
  const hasAuthorization = authorization !== null && authorization !== undefined;
  const hasApiKey = apiKey !== null && apiKey !== undefined;
  if (hasAuthorization && hasApiKey) return { kind: "malformed" };
  if (hasAuthorization) {
    const match = /^Bearer +(\S+)$/i.exec(authorization);
    return match && BEARER_VALUE.test(match[1]!)
      ? { kind: "bearer", value: match[1]! }
      : { kind: "malformed" };
  }
  if (hasApiKey) {
    return API_KEY_VALUE.test(apiKey) ? { kind: "api-key", value: apiKey } : { kind: "malformed" };
  }
  return { kind: "none" };
}

const sha256 = (value: string) => createHash("sha256").update(value).digest();

/** A key's name: enough to tell keys apart, useless for guessing one. */
const keyTag = (prefix: string, key: string) =>
  `${prefix}:${sha256(key).toString("hex").slice(0, 16)}`;

/** An identity derived from an API key. */
export const apiKeyClientId = (key: string) => keyTag("key", key);

const routerId = (key: string) => keyTag("router", key);

/** A caller who sent no credentials; the verifier decides its scopes (none until it does). */
export const anonymousClient = (address: string | undefined): ClientIdentity => ({
  id: `ip:${address ?? "unknown"}`,
  kind: "anonymous",
  scopes: NO_SCOPES,
});

type AuthSettings = Pick<SecurityConfig, "authRequired" | "apiKeys" | "jwt"> &
  Partial<Pick<SecurityConfig, "adminApiKeys" | "routerApiKeys">>;

/**
 * What a caller without credentials may do. With nothing configured and nothing required
 * (development), everything; once keys or JWTs exist, a plain client's read and chat at most.
 */
export function anonymousScopesFor(security: AuthSettings): ReadonlySet<Scope> {
  const configured =
    security.apiKeys.length > 0 ||
    (security.adminApiKeys?.length ?? 0) > 0 ||
    (security.routerApiKeys?.length ?? 0) > 0 ||
    security.jwt?.secret !== undefined ||
    security.jwt?.jwksUrl !== undefined;
  return !configured && !security.authRequired ? ALL_SCOPES : CLIENT_SCOPES;
}

interface KeyDigest {
  digest: Buffer;
  id: string;
  scopes: ReadonlySet<Scope>;
  /** Who a caller with this key is: one object per key, not one per request. */
  identity: ClientIdentity;
}

/** Digests of `keys` with the id and the scopes each stands for. */
const digestsOf = (
  keys: readonly string[],
  idOf: (key: string) => string,
  scopes: ReadonlySet<Scope>,
): KeyDigest[] =>
  keys.map((key) => {
    const id = idOf(key);
    const identity = Object.freeze({ id, kind: "api-key" as const, scopes });
    return { digest: sha256(key), id, scopes, identity };
  });

/** Presented values whose digest is remembered; past it the least recently seen is dropped. */
const PRESENTED_DIGESTS = 1024;

/**
 * SHA-256 of presented values, remembered for the few keys a deployment's clients send over and
 * over: hashing every request's key was ~1% of the gateway's CPU per operation. Only the digest
 * is remembered, never a verdict: each request still compares it with every configured key, so
 * an unknown key stays unknown however often it is sent. Bounded, so a caller cycling through
 * made-up keys only churns it.
 */
class DigestCache {
  readonly #digests = new Map<string, Buffer>();
  /** The value seen last, already last in `#digests`: sent again, it needs no reordering. */
  #newest: string | undefined;

  digest(value: string): Buffer {
    const cached = this.#digests.get(value);
    if (cached) {
      // Most recently seen last: Map iterates in insertion order, so the first is the oldest.
      if (value !== this.#newest) {
        this.#digests.delete(value);
        this.#digests.set(value, cached);
        this.#newest = value;
      }
      return cached;
    }
    const digest = sha256(value);
    this.#digests.set(value, digest);
    this.#newest = value;
    if (this.#digests.size > PRESENTED_DIGESTS) {
      this.#digests.delete(this.#digests.keys().next().value as string);
    }
    return digest;
  }

  get size(): number {
    return this.#digests.size;
  }
}

/**
 * The id of the key `digest` is the SHA-256 of, or undefined. Digests have one length, so
 * `timingSafeEqual` applies and a key's length does not leak; no early exit, so the time taken
 * does not say which key (if any) matched.
 */
function matchKey(keys: readonly KeyDigest[], digest: Buffer): KeyDigest | undefined {
  let found: KeyDigest | undefined;
  for (const key of keys) if (timingSafeEqual(digest, key.digest)) found = key;
  return found;
}

export function createClientVerifier(
  security: AuthSettings,
  options: ClientVerifierOptions = {},
): ClientVerifier {
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const keys = [
    ...digestsOf(security.apiKeys, apiKeyClientId, CLIENT_SCOPES),
    ...digestsOf(security.adminApiKeys ?? [], apiKeyClientId, ALL_SCOPES),
  ];
  // A router is trusted to name its end users, not to manage content: they ask (read, chat).
  const routers = digestsOf(security.routerApiKeys ?? [], routerId, CLIENT_SCOPES);
  const jwt = security.jwt;
  const secret = jwt?.secret ? new TextEncoder().encode(jwt.secret) : undefined;
  const jwks = jwt?.jwksUrl
    ? createRemoteJWKSet(new URL(jwt.jwksUrl), { timeoutDuration: options.jwksTimeoutMs ?? 5000 })
    : undefined;
  const configured =
    keys.length > 0 || routers.length > 0 || secret !== undefined || jwks !== undefined;
  const anonymousScopes = anonymousScopesFor(security);
  const presented = new DigestCache();

  const matchApiKey = (value: string): ClientIdentity | undefined =>
    matchKey(keys, presented.digest(value))?.identity;

  const verifyJwt = async (token: string): Promise<ClientIdentity | undefined> => {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return undefined;
    }
    // The header picks the key source, and each source accepts only its own algorithms, so an
    // RS256 public key can never be used as an HS256 secret (algorithm confusion).
    const common = {
      issuer: jwt?.issuer,
      audience: jwt?.audience,
      clockTolerance,
      requiredClaims: ["sub", "exp"],
    };
    try {
      let payload: JWTPayload;
      if (alg === "HS256" && secret) {
        ({ payload } = await jwtVerify(token, secret, { ...common, algorithms: ["HS256"] }));
      } else if ((alg === "RS256" || alg === "ES256") && jwks) {
        ({ payload } = await jwtVerify(token, jwks, { ...common, algorithms: ["RS256", "ES256"] }));
      } else {
        return undefined;
      }
      if (typeof payload.sub !== "string" || payload.sub === "") return undefined;
      const scopes = scopesFromClaim(payload.scope) ?? CLIENT_SCOPES;
      return { id: `jwt:${payload.sub}`, kind: "jwt", scopes };
    } catch {
      // Expired, wrong issuer or audience, bad signature, JWKS unreachable: all "invalid", and
      // the caller is not told which.
      return undefined;
    }
  };

  return {
    authenticate(credential, anonymous) {
      if (credential.kind === "none") {
        return security.authRequired
          ? { ok: false, reason: "missing" }
          : anonymousOutcome(anonymous, anonymousScopes);
      }
      // With nothing to check against and nothing required, credentials meant for some other
      // hop (a proxy, a browser extension) should not break development.
      if (!configured && !security.authRequired)
        return anonymousOutcome(anonymous, anonymousScopes);
      if (credential.kind === "malformed") return INVALID;
      if (credential.kind === "bearer" && (secret || jwks) && JWT_SHAPE.test(credential.value)) {
        return verifyJwt(credential.value).then(outcomeOf);
      }
      return outcomeOf(matchApiKey(credential.value));
    },
    router: (key) =>
      API_KEY_VALUE.test(key) ? matchKey(routers, presented.digest(key)) : undefined,
    presentedDigests: () => presented.size,
  };
}

const INVALID: AuthOutcome = { ok: false, reason: "invalid" };
/**
 * A module function, not a closure made per call: under tsx (`npm start`) every function
 * created gets its name set through `__name`, which took 1.8% of a mutation's CPU here.
 */
const anonymousOutcome = (anonymous: ClientIdentity, scopes: ReadonlySet<Scope>): AuthOutcome => ({
  ok: true,
  client: { ...anonymous, scopes },
});
const outcomeOf = (client: ClientIdentity | undefined): AuthOutcome =>
  client ? { ok: true, client } : INVALID;

/**
 * Checks the credentials in `headers`; `remoteAddress` names the caller when it sends none.
 *
 * With a valid `x-router-key`, a trusted router is calling for someone: the end user's own
 * credentials as the router propagates them (`authorization`, `x-api-key`), verified as usual;
 * or, for a user the router authenticated itself, the opaque `x-end-user-id`; or, with neither,
 * the router for itself. Both at once is refused rather than guessing who is calling, and so is
 * a router key that is not one. Without a router key, `x-end-user-id` is ignored: anyone can
 * send the header.
 */
export function authenticateHeaders(
  verifier: ClientVerifier,
  headers: Headers,
  remoteAddress: string | undefined,
): AuthOutcome | Promise<AuthOutcome> {
  const presented = presentedCredential(headers.get("authorization"), headers.get("x-api-key"));
  const anonymous = anonymousClient(remoteAddress);
  const routerKey = headers.get(ROUTER_KEY_HEADER);
  if (routerKey === null) return verifier.authenticate(presented, anonymous);
  const router = verifier.router(routerKey);
  if (!router) return INVALID;
  const via = { via: "router", routerId: router.id } as const;
  const endUser = headers.get(END_USER_HEADER);
  if (presented.kind !== "none") {
    if (endUser !== null) return INVALID;
    const viaRouter = (outcome: AuthOutcome): AuthOutcome =>
      outcome.ok ? { ok: true, client: { ...outcome.client, ...via } } : outcome;
    const outcome = verifier.authenticate(presented, anonymous);
    return outcome instanceof Promise ? outcome.then(viaRouter) : viaRouter(outcome);
  }
  const scopes = router.scopes;
  if (endUser === null)
    return { ok: true, client: { id: router.id, kind: "router", scopes, ...via } };
  if (!END_USER_VALUE.test(endUser)) return INVALID;
  return {
    ok: true,
    client: { id: `${router.id}/user:${endUser}`, kind: "end-user", scopes, ...via },
  };
}

export const AUTH_MESSAGES = {
  missing: "Authentication required: send an API key or a bearer token.",
  invalid: "The credentials given are not valid.",
} as const;

/**
 * The 401 for HTTP callers: a GraphQL-shaped body so clients surface the code like any other
 * error, and `WWW-Authenticate` as RFC 9110 requires with a 401.
 */
export function unauthenticatedResponse(
  message: string,
  error?: "invalid_token" | "invalid_request",
): Response {
  const challenge = error ? `Bearer realm="graphql", error="${error}"` : `Bearer realm="graphql"`;
  return jsonResponse(401, graphqlErrorBody(ErrorCode.UNAUTHENTICATED, message), {
    "www-authenticate": challenge,
  });
}
