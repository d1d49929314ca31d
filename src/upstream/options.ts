/**
 * The client's option types and defaults, and validation of list parameters and request bodies
 * (kept apart from client.ts so each stays readable).
 */

import type { Dispatcher } from "undici";
import type { Credentials } from "./auth.ts";
import type { CircuitOptions } from "./circuit.ts";
import { InvalidArgumentError } from "./errors.ts";
import type { ClientHooks } from "./hooks.ts";
import { assertInstanceId, assertPage, assertPerPage, assertSearch } from "./names.ts";
import type { RetryOptions } from "./retry.ts";
import type { AiSearchOptions, ResultInfo } from "./types.ts";

/** Who a bound client calls for: see `AiSearchClient.withCall`. */
export interface CallBinding {
  /**
   * Credentials for every call of the binding (the gateway passes each caller's own token).
   * @default the client's `credentials`
   */
  credentials?: Credentials;
  /**
   * Aborting ends every call of the binding (open streams included): they reject with
   * `UpstreamAbortedError` and their sockets close at once.
   * @default undefined (calls end on their own timeouts only)
   */
  signal?: AbortSignal;
  /**
   * Sent upstream as `x-request-id` with every call; 1–200 visible ASCII characters.
   * @default undefined (no `x-request-id`)
   */
  requestId?: string;
}

/** What one call may add to its binding; it can narrow the binding, never widen it. */
export interface CallOptions {
  /**
   * Also ends this call (the binding's signal still does too).
   * @default undefined
   */
  signal?: AbortSignal;
}

export interface Page<T> {
  items: T[];
  page: number;
  perPage: number;
  count: number;
  totalCount?: number;
}

export interface ListParams {
  page?: number;
  perPage?: number;
  search?: string;
}

export interface ListInstancesParams extends ListParams {
  orderBy?: "created_at";
  orderByDirection?: "asc" | "desc";
}

export interface TimeoutOptions {
  /**
   * TCP (and TLS) connect. Applies to the pool the client creates, not to an injected dispatcher.
   * @default 10000
   */
  connectMs: number;
  /**
   * From sending the request to the end of the response headers. A non-streamed completion
   * sends its headers only once the model has finished, hence as long as the deadline.
   * @default 60000
   */
  headersMs: number;
  /**
   * Longest silence between two body reads; for streams, between two SSE chunks. undici
   * checks this and `headersMs` on a coarse (~0.5 s) clock, so they fire up to ~1 s late.
   * @default 30000
   */
  idleMs: number;
  /**
   * Whole-call budget for JSON calls, retries and backoff included (streams have none: they
   * are bounded by `headersMs` and `idleMs`). Like the official SDK's 60 s request timeout.
   * @default 60000
   */
  deadlineMs: number;
}

export interface ClientDefaults {
  /** @default "https://api.cloudflare.com/client/v4" */
  baseUrl: string;
  /** @default see {@link TimeoutOptions} */
  timeouts: Readonly<TimeoutOptions>;
  /**
   * Largest JSON response (and largest single SSE event) accepted, enforced while reading.
   * @default 8388608 (8 MiB)
   */
  maxJsonBytes: number;
  /**
   * Sockets per upstream origin for calls other than streams (JSON calls queue beyond it);
   * streams have a pool of their own without a cap (see transport.ts).
   * @default 256
   */
  connections: number;

  /**
   * How long an idle keep-alive socket is kept (undici also honours the server's hint).
   * @default 4000
   */
  keepAliveTimeoutMs: number;
  /** @default "aisearch-graphql-gateway/0.1.0" */
  userAgent: string;
}

/** The client's defaults (retry defaults are `DEFAULT_RETRY` in retry.ts). */
export const DEFAULT_CLIENT_OPTIONS: Readonly<ClientDefaults> = Object.freeze({
  baseUrl: "https://api.cloudflare.com/client/v4",
  timeouts: Object.freeze({
    connectMs: 10_000,
    headersMs: 60_000,
    idleMs: 30_000,
    deadlineMs: 60_000,
  }),
  maxJsonBytes: 8 * 1024 * 1024,
  connections: 256,
  keepAliveTimeoutMs: 4_000,
  userAgent: "aisearch-graphql-gateway/0.1.0",
});

export interface AiSearchClientOptions extends Partial<Omit<ClientDefaults, "timeouts">> {
  accountId: string;
  /**
   * Used by the client itself and by bindings that bring none; a call without either fails with
   * `InvalidCredentialsError`.
   */
  credentials?: Credentials;
  timeouts?: Partial<TimeoutOptions>;
  retry?: Partial<RetryOptions>;
  /**
   * A shared pool/agent (or a MockAgent in tests); the client then does not close it. It must
   * not follow redirects (no redirect interceptor), or a 3xx could carry credentials elsewhere.
   */
  dispatcher?: Dispatcher;
  /**
   * Fail fast while the upstream keeps failing (see circuit.ts); `false` turns it off.
   * @default {} (on, with circuit.ts's defaults)
   */
  circuit?: CircuitOptions | false;
  /**
   * Share one request between identical in-flight reads and searches (same path, body and
   * credentials, whatever the request ids). The shared request carries the first caller's
   * request id.
   * @default true
   */
  coalesceReads?: boolean;
  /**
   * Observe each attempt (metrics, logs, spans) and add headers to it (`traceparent`); see
   * hooks.ts. Shared by every binding of the client.
   * @default {} (nothing observed)
   */
  hooks?: ClientHooks;
}

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export function assertBodyInstanceIds(options: AiSearchOptions | undefined): void {
  const ids = options?.instance_ids;
  if (ids === undefined) return;
  if (!Array.isArray(ids))
    throw new InvalidArgumentError("instance_ids", "an array of instance ids");
  for (const id of ids) assertInstanceId(id);
}

export function listQuery(params: ListInstancesParams): string {
  const query = new URLSearchParams();
  if (params.page !== undefined) {
    assertPage(params.page);
    query.set("page", String(params.page));
  }
  if (params.perPage !== undefined) {
    assertPerPage(params.perPage);
    query.set("per_page", String(params.perPage));
  }
  if (params.search !== undefined) {
    assertSearch(params.search);
    query.set("search", params.search);
  }
  if (params.orderBy !== undefined) {
    if (params.orderBy !== "created_at") throw new InvalidArgumentError("orderBy", '"created_at"');
    query.set("order_by", params.orderBy);
  }
  if (params.orderByDirection !== undefined) {
    if (params.orderByDirection !== "asc" && params.orderByDirection !== "desc") {
      throw new InvalidArgumentError("orderByDirection", '"asc" or "desc"');
    }
    query.set("order_by_direction", params.orderByDirection);
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** `{ ...defaults, ...overrides }`, except that an explicit `undefined` keeps the default. */
export function withDefaults<T extends object>(defaults: Readonly<T>, overrides?: Partial<T>): T {
  const merged = { ...defaults };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** The API base, refusing anything that could smuggle credentials or a query into every URL. */
export function parseBaseUrl(text: string): URL {
  const base = URL.canParse(text) ? new URL(text) : undefined;
  if (
    !base ||
    (base.protocol !== "https:" && base.protocol !== "http:") ||
    base.username ||
    base.password ||
    base.search ||
    base.hash
  ) {
    throw new InvalidArgumentError(
      "baseUrl",
      "an http(s) URL without credentials, query or fragment",
    );
  }
  return base;
}

/** A list envelope as a Page, trusting `result_info` only where it holds real numbers. */
export function toPage<T>(envelope: Json, params: ListParams): Page<T> {
  const items = envelope.result as T[];
  const info: Partial<ResultInfo> = isObject(envelope.result_info) ? envelope.result_info : {};
  const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
  const page: Page<T> = {
    items,
    page: num(info.page) ? info.page : (params.page ?? 1),
    perPage: num(info.per_page) ? info.per_page : (params.perPage ?? items.length),
    count: num(info.count) ? info.count : items.length,
  };
  if (num(info.total_count)) page.totalCount = info.total_count;
  return page;
}
