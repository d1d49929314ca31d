/**
 * The part of the client every binding shares: one keep-alive pool per upstream origin, the
 * circuit breaker, coalescing of identical reads, the retry loop and the hooks that observe
 * each attempt. Bindings (client.ts) only decide who is calling; everything here is the same
 * for all of them.
 */
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { type Dispatcher, Pool } from "undici";
import { type AuthHeaders, authHeaders, type Credentials } from "./auth.ts";
import { type CircuitState, UpstreamCircuit, UpstreamCircuitOpenError } from "./circuit.ts";
import { errorFromResponse } from "./cloudflare-codes.ts";
import { credentialsKey, InFlightReads, readKey } from "./coalesce.ts";
import { UpstreamError, UpstreamProtocolError } from "./errors.ts";
import type { AttemptObserver, ClientHooks, HttpMethod } from "./hooks.ts";
import { CallScope, cloudflareErrors, discard, httpError, readJson } from "./http.ts";
import { assertRequestId } from "./names.ts";
import {
  type AiSearchClientOptions,
  DEFAULT_CLIENT_OPTIONS,
  isObject,
  type Json,
  parseBaseUrl,
  type TimeoutOptions,
  withDefaults,
} from "./options.ts";
import { type CallKind, DEFAULT_RETRY, type RetryOptions, retryDelayMs } from "./retry.ts";
import { type ChatStream, chatStream } from "./stream.ts";

/** One request as the client methods describe it. */
export interface Exchange {
  /** The client method, e.g. `listInstances`: the `endpoint` hooks and errors report. */
  endpoint: string;
  kind: CallKind;
  method: HttpMethod;
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is instead of `body`, read once (uploads: a multipart body built as it streams). */
  raw?: { contentType: string; body: Readable };
  accept: string;
}

export const exchange = (
  endpoint: string,
  kind: CallKind,
  method: HttpMethod,
  path: string,
  body?: unknown,
): Exchange => ({ endpoint, kind, method, path, body, accept: "application/json" });

/** Who is calling, checked once when a binding is made. */
export interface Caller {
  /** What every call of this binding fails with, before anything is sent; unset when valid. */
  readonly refusal?: UpstreamError;
  readonly auth: AuthHeaders;
  /** Stands for the credentials in coalescing keys (a hash, never the credentials). */
  readonly credentialsKey: string;
  readonly requestId?: string;
  readonly signal?: AbortSignal;
}

/** How a 2xx response becomes the call's result; streams take over the scope. */
type Handler<T> = (
  res: Dispatcher.ResponseData,
  scope: CallScope,
  observer: AttemptObserver | undefined,
) => Promise<T>;

const NO_AUTH: AuthHeaders = Object.freeze({});

/** Pools the streams are spread over: each walks a sixteenth of the live streams' sockets. */
const STREAM_POOLS = 16;

export class Transport {
  readonly #dispatcher: Dispatcher;
  /** Streams' own: just `#dispatcher` when one was injected. */
  readonly #streamDispatchers: Dispatcher[];
  /** Streams open on each of `#streamDispatchers` (from request to the body's close). */
  readonly #streamsOn: number[];
  readonly #ownsDispatcher: boolean;
  readonly #origin: string;
  /** The API base's path, e.g. `/client/v4`, without a trailing slash. */
  readonly basePath: string;
  // Private fields keep credentials out of `util.inspect`, and so out of logs of the client.
  readonly #defaultCredentials: Credentials | undefined;
  readonly #timeouts: TimeoutOptions;
  readonly #retry: RetryOptions;
  readonly #maxJsonBytes: number;
  readonly #userAgent: string;
  readonly #circuit: UpstreamCircuit | undefined;
  readonly #inFlight: InFlightReads | undefined;
  readonly #hooks: ClientHooks;
  /**
   * The client's own credentials checked and hashed once, not per binding: most bindings (one
   * per operation) carry none of their own. Unset until first used, or while they are invalid
   * (each binding then fails with its own error, as before).
   */
  #defaultAuth: { auth: AuthHeaders; key: string } | undefined;

  constructor(options: AiSearchClientOptions) {
    const base = parseBaseUrl(options.baseUrl ?? DEFAULT_CLIENT_OPTIONS.baseUrl);
    this.#origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, "");
    this.#defaultCredentials = options.credentials;
    this.#timeouts = withDefaults(DEFAULT_CLIENT_OPTIONS.timeouts, options.timeouts);
    this.#retry = withDefaults(DEFAULT_RETRY, options.retry);
    this.#maxJsonBytes = options.maxJsonBytes ?? DEFAULT_CLIENT_OPTIONS.maxJsonBytes;
    this.#userAgent = options.userAgent ?? DEFAULT_CLIENT_OPTIONS.userAgent;
    this.#circuit = options.circuit === false ? undefined : new UpstreamCircuit(options.circuit);
    this.#inFlight = options.coalesceReads === false ? undefined : new InFlightReads();
    this.#hooks = options.hooks ?? {};
    this.#ownsDispatcher = options.dispatcher === undefined;
    // No redirect interceptor is installed, so undici hands 3xx back to us instead of following.
    const pool = (connections: number | null) =>
      new Pool(this.#origin, {
        connections,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_CLIENT_OPTIONS.keepAliveTimeoutMs,
        connect: { timeout: this.#timeouts.connectMs },
        headersTimeout: this.#timeouts.headersMs,
        bodyTimeout: this.#timeouts.idleMs,
      });
    this.#dispatcher =
      options.dispatcher ?? pool(options.connections ?? DEFAULT_CLIENT_OPTIONS.connections);
    // Streams get pools of their own without a connection cap: a stream holds its socket for
    // its whole life (HTTP/1.1 carries one exchange at a time), so under a cap the next stream
    // would wait, silently, for another's answer to end. Live streams are bounded by the
    // subscription caps instead, and by the process's open files (one socket each). Several
    // pools, because a pool looks for a free connection by walking all of its own, and every
    // one is busy while its stream lasts: the walks grow with the square of the live streams
    // (155 ms of a profile at 3,000; at 10,000, about 0.3 ms per new stream, near half a core
    // at the end of a ramp). A new stream goes to the pool with the fewest open, so the pools
    // share the walk, and a socket a finished stream freed is taken again (one pool is used
    // while streams come one at a time, as before).
    this.#streamDispatchers = options.dispatcher
      ? [options.dispatcher]
      : Array.from({ length: STREAM_POOLS }, () => pool(null));
    this.#streamsOn = this.#streamDispatchers.map(() => 0);
  }

  /**
   * Checks a binding once: its credentials (or the client's own when it gives none) and its
   * request id. A bad one is not thrown here but kept, so each call fails with it as it would
   * have, as an error of that call.
   */
  caller(binding: { credentials?: Credentials; requestId?: string; signal?: AbortSignal }): Caller {
    const { signal, requestId } = binding;
    try {
      let checked = binding.credentials ? this.#authOf(binding.credentials) : this.#defaultAuth;
      if (!checked) {
        checked = this.#authOf(this.#defaultCredentials);
        this.#defaultAuth = checked;
      }
      const { auth, key } = checked;
      if (requestId !== undefined) assertRequestId(requestId);
      return { auth, credentialsKey: key, requestId, signal };
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      return { refusal: error, auth: NO_AUTH, credentialsKey: "", signal };
    }
  }

  /** Headers and coalescing key of `credentials`; throws an `UpstreamError` for bad ones. */
  #authOf(credentials: Credentials | undefined): { auth: AuthHeaders; key: string } {
    const auth = authHeaders(credentials);
    return { auth, key: credentialsKey(auth) };
  }

  get circuitState(): CircuitState {
    return this.#circuit?.state ?? "closed";
  }

  /** Closes the pools once in-flight calls (open streams included) end; leaves a shared one. */
  async close(): Promise<void> {
    this.#circuit?.shutdown();
    if (this.#ownsDispatcher) {
      await Promise.all([this.#dispatcher, ...this.#streamDispatchers].map((d) => d.close()));
    }
  }

  /** Closes the pools now, failing in-flight calls and open streams; leaves a shared one. */
  async destroy(): Promise<void> {
    this.#circuit?.shutdown();
    if (this.#ownsDispatcher) {
      await Promise.all([this.#dispatcher, ...this.#streamDispatchers].map((d) => d.destroy()));
    }
  }

  /**
   * A stream's request, on the pool with the fewest streams open (the first of those when
   * several tie), counted there until its body closes or the request fails.
   */
  async #streamRequest(options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
    const open = this.#streamsOn;
    let pool = 0;
    for (let i = 1; i < open.length; i++) if (open[i]! < open[pool]!) pool = i;
    open[pool]!++;
    const closed = () => {
      open[pool]!--;
    };
    try {
      const res = await this.#streamDispatchers[pool]!.request(options);
      res.body.once("close", closed);
      return res;
    } catch (error) {
      closed();
      throw error;
    }
  }

  /** A JSON exchange: parse, unwrap the envelope when `enveloped`, check the shape. */
  async json(
    exchange: Exchange,
    caller: Caller,
    signal: AbortSignal | undefined,
    valid: (parsed: Json) => boolean,
    enveloped = true,
  ): Promise<Json> {
    if (caller.refusal) throw caller.refusal;
    const deadlineMs = this.#timeouts.deadlineMs;
    const read: Handler<Json> = async (res) => {
      const parsed = await readJson(res.body, res.headers, this.#maxJsonBytes);
      if (!isObject(parsed)) throw new UpstreamProtocolError("unexpected-shape");
      if (parsed.success === false) {
        throw errorFromResponse(res.statusCode, { cloudflareErrors: cloudflareErrors(parsed) });
      }
      if ((enveloped && parsed.success !== true) || !valid(parsed)) {
        throw new UpstreamProtocolError("unexpected-shape");
      }
      return parsed;
    };
    const send = (signal: AbortSignal | undefined) =>
      this.#call(exchange, caller, () => this.#send(exchange, caller, signal, deadlineMs, read));
    if (exchange.kind !== "read" || !this.#inFlight) return send(signal);
    // Only what changes the answer: not the request id, which differs for every caller.
    return this.#inFlight.run(readKey(exchange, caller.credentialsKey), signal, send);
  }

  /** Resolves once response headers arrived (HTTP errors reject here); iterate for events. */
  async stream(
    exchange: Exchange,
    caller: Caller,
    signal: AbortSignal | undefined,
  ): Promise<ChatStream> {
    if (caller.refusal) throw caller.refusal;
    const open: Handler<ChatStream> = async (res, scope, observer) => {
      const type = res.headers["content-type"];
      if (typeof type !== "string" || !type.toLowerCase().startsWith("text/event-stream")) {
        discard(res.body);
        throw new UpstreamProtocolError("unexpected-content-type");
      }
      return chatStream(res.body, scope, this.#maxJsonBytes, observer);
    };
    return this.#call(exchange, caller, () =>
      this.#send(exchange, caller, signal, undefined, open),
    );
  }

  /** Runs `send` through the circuit breaker; a refusal by it is reported as an attempt. */
  async #call<T>(exchange: Exchange, caller: Caller, send: () => Promise<T>): Promise<T> {
    if (!this.#circuit) return send();
    try {
      return await this.#circuit.run(send);
    } catch (error) {
      if (error instanceof UpstreamCircuitOpenError) {
        error.operation = exchange.endpoint;
        error.attempts = 0;
        this.#observe(exchange, caller, 0)?.onEnd?.({ error, durationMs: 0 });
      }
      throw error;
    }
  }

  #observe(exchange: Exchange, caller: Caller, retry: number): AttemptObserver | undefined {
    return this.#hooks.onAttempt?.({
      endpoint: exchange.endpoint,
      retry,
      method: exchange.method,
      requestId: caller.requestId,
      streaming: exchange.accept === "text/event-stream",
    });
  }

  /**
   * The request's headers as undici's flat `[name, value, …]` list: no object built and then
   * walked key by key for each call (that was ~1% of the gateway's CPU per operation).
   */
  #headers(exchange: Exchange, caller: Caller): string[] {
    const headers: string[] = [];
    for (const name in caller.auth) headers.push(name, caller.auth[name]!);
    headers.push("accept", exchange.accept, "user-agent", this.#userAgent);
    if (exchange.raw) headers.push("content-type", exchange.raw.contentType);
    else if (exchange.body !== undefined) headers.push("content-type", "application/json");
    if (caller.requestId !== undefined) headers.push("x-request-id", caller.requestId);
    return headers;
  }

  /** `headers` after a hook's own: the client's last, so a hook cannot replace credentials. */
  static #withHookHeaders(
    hook: Readonly<Record<string, string>>,
    headers: readonly string[],
  ): Record<string, string> {
    const merged: Record<string, string> = { ...hook };
    for (let i = 0; i < headers.length; i += 2) merged[headers[i]!] = headers[i + 1]!;
    return merged;
  }

  /**
   * Sends `exchange`, retrying per retry.ts, and hands a 2xx response to `handle`. Everything
   * is validated before the first byte leaves. Calls without a deadline are streams, whose
   * `handle` takes over the scope. Retries happen only inside this loop, so a stream is never
   * retried once `handle` has returned it to the caller.
   */
  async #send<T>(
    exchange: Exchange,
    caller: Caller,
    signal: AbortSignal | undefined,
    deadlineMs: number | undefined,
    handle: Handler<T>,
  ): Promise<T> {
    const headers = this.#headers(exchange, caller);
    const payload =
      exchange.raw?.body ??
      (exchange.body === undefined ? undefined : JSON.stringify(exchange.body));
    const scope = new CallScope(signal, deadlineMs, this.#timeouts);
    for (let attempt = 0; ; attempt++) {
      let error: UpstreamError;
      const observer = this.#observe(exchange, caller, attempt);
      const startedAt = performance.now();
      let status: number | undefined;
      try {
        const aborted = scope.abortError;
        if (aborted) throw aborted;
        const options: Dispatcher.RequestOptions = {
          origin: this.#origin,
          method: exchange.method,
          path: exchange.path,
          // The client's own headers last: a hook cannot replace credentials or the request id.
          headers: observer?.headers
            ? Transport.#withHookHeaders(observer.headers, headers)
            : headers,
          body: payload ?? null,
          signal: scope.signal,
          headersTimeout: this.#timeouts.headersMs,
          bodyTimeout: this.#timeouts.idleMs,
        };
        const res = await (deadlineMs === undefined
          ? this.#streamRequest(options)
          : this.#dispatcher.request(options));
        status = res.statusCode;
        if (status < 200 || status >= 300) {
          const failure = await httpError(status, res.headers, res.body);
          throw scope.abortError ?? failure;
        }
        const result = await handle(res, scope, observer);
        // A stream owns the scope from here on: the caller's signal must keep working.
        if (deadlineMs !== undefined) scope.dispose();
        observer?.onEnd?.({ status, durationMs: performance.now() - startedAt });
        return result;
      } catch (thrown) {
        const mapped = scope.toUpstreamError(thrown);
        observer?.onEnd?.({
          status,
          error: mapped ?? thrown,
          durationMs: performance.now() - startedAt,
        });
        if (!mapped) {
          scope.dispose();
          throw thrown;
        }
        error = mapped;
      }
      const delay = retryDelayMs(error, exchange.kind, attempt, this.#retry, scope.remainingMs());
      try {
        if (delay === undefined) throw error;
        // Aborting (caller or deadline) rejects the sleep at once.
        await this.#retry.sleep(delay, scope.signal);
      } catch (thrown) {
        scope.dispose();
        const final = scope.toUpstreamError(thrown);
        if (!final) throw thrown;
        final.operation = exchange.endpoint;
        final.attempts = attempt + 1;
        throw final;
      }
    }
  }
}
