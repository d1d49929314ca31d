/**
 * The AI Search REST client: validated names and credentials, one keep-alive pool per upstream
 * origin, typed errors, retries (see retry.ts) and typed streams (see sse.ts).
 */
import { type Dispatcher, Pool } from "undici";
import { type AuthHeaders, authHeaders } from "./auth.ts";
import { type CircuitState, UpstreamCircuit } from "./circuit.ts";
import { InFlightReads, readKey } from "./coalesce.ts";
import { errorFromStatus, type UpstreamError, UpstreamProtocolError } from "./errors.ts";
import { CallScope, cloudflareErrors, discard, httpError, readJson } from "./http.ts";
import {
  assertAccountId,
  assertInstanceId,
  assertNamespaceName,
  assertRequestId,
  segment,
} from "./names.ts";
import {
  type AiSearchClientOptions,
  assertBodyInstanceIds,
  type CallOptions,
  DEFAULT_CLIENT_OPTIONS,
  isObject,
  type Json,
  type ListInstancesParams,
  type ListParams,
  listQuery,
  type Page,
  parseBaseUrl,
  type TimeoutOptions,
  toPage,
  withDefaults,
} from "./options.ts";
import { type CallKind, DEFAULT_RETRY, type RetryOptions, retryDelayMs } from "./retry.ts";
import { type ChatStream, chatStream } from "./stream.ts";
import type {
  ChatCompletionRequest,
  ChatCompletionResponse,
  Instance,
  InstanceStats,
  Namespace,
  SearchRequest,
  SearchResult,
} from "./types.ts";

interface Exchange {
  operation: string;
  kind: CallKind;
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  accept: string;
}

const exchange = (
  operation: string,
  kind: CallKind,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Exchange => ({ operation, kind, method, path, body, accept: "application/json" });

export class AiSearchClient {
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #origin: string;
  /** `/client/v4/accounts/<id>/ai-search` */
  readonly #root: string;
  // Private fields keep credentials out of `util.inspect`, and so out of logs of the client.
  readonly #auth: AuthHeaders | undefined;
  readonly #timeouts: TimeoutOptions;
  readonly #retry: RetryOptions;
  readonly #maxJsonBytes: number;
  readonly #userAgent: string;
  readonly #circuit: UpstreamCircuit | undefined;
  readonly #inFlight: InFlightReads | undefined;

  constructor(options: AiSearchClientOptions) {
    assertAccountId(options.accountId);
    const base = parseBaseUrl(options.baseUrl ?? DEFAULT_CLIENT_OPTIONS.baseUrl);
    this.#origin = base.origin;
    this.#root = `${base.pathname.replace(/\/+$/, "")}/accounts/${segment(options.accountId)}/ai-search`;
    this.#auth = options.credentials === undefined ? undefined : authHeaders(options.credentials);
    this.#timeouts = withDefaults(DEFAULT_CLIENT_OPTIONS.timeouts, options.timeouts);
    this.#retry = withDefaults(DEFAULT_RETRY, options.retry);
    this.#maxJsonBytes = options.maxJsonBytes ?? DEFAULT_CLIENT_OPTIONS.maxJsonBytes;
    this.#userAgent = options.userAgent ?? DEFAULT_CLIENT_OPTIONS.userAgent;
    this.#circuit = options.circuit === false ? undefined : new UpstreamCircuit(options.circuit);
    this.#inFlight = options.coalesceReads === false ? undefined : new InFlightReads();
    this.#ownsDispatcher = options.dispatcher === undefined;
    // No redirect interceptor is installed, so undici hands 3xx back to us instead of following.
    this.#dispatcher =
      options.dispatcher ??
      new Pool(this.#origin, {
        connections: options.connections ?? DEFAULT_CLIENT_OPTIONS.connections,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_CLIENT_OPTIONS.keepAliveTimeoutMs,
        connect: { timeout: this.#timeouts.connectMs },
        headersTimeout: this.#timeouts.headersMs,
        bodyTimeout: this.#timeouts.idleMs,
      });
  }

  async listNamespaces(params: ListParams = {}, opts?: CallOptions): Promise<Page<Namespace>> {
    const path = `${this.#root}/namespaces${listQuery(params)}`;
    return this.#list<Namespace>("listNamespaces", path, params, opts);
  }

  async getNamespace(name: string, opts?: CallOptions): Promise<Namespace> {
    assertNamespaceName(name);
    const path = this.#ns(name);
    return this.#enveloped("getNamespace", path, opts) as Promise<Namespace>;
  }

  async listInstances(
    namespace: string,
    params: ListInstancesParams = {},
    opts?: CallOptions,
  ): Promise<Page<Instance>> {
    assertNamespaceName(namespace);
    const path = `${this.#ns(namespace)}/instances${listQuery(params)}`;
    return this.#list<Instance>("listInstances", path, params, opts);
  }

  async getInstance(namespace: string, id: string, opts?: CallOptions): Promise<Instance> {
    const path = this.#instance(namespace, id);
    return this.#enveloped("getInstance", path, opts) as Promise<Instance>;
  }

  async getInstanceStats(
    namespace: string,
    id: string,
    opts?: CallOptions,
  ): Promise<InstanceStats> {
    const path = `${this.#instance(namespace, id)}/stats`;
    return this.#enveloped("getInstanceStats", path, opts) as Promise<InstanceStats>;
  }

  async searchNamespace(
    namespace: string,
    body: SearchRequest,
    opts?: CallOptions,
  ): Promise<SearchResult> {
    assertNamespaceName(namespace);
    assertBodyInstanceIds(body?.ai_search_options);
    return this.#search("searchNamespace", `${this.#ns(namespace)}/search`, body, opts);
  }

  async searchInstance(
    namespace: string,
    id: string,
    body: SearchRequest,
    opts?: CallOptions,
  ): Promise<SearchResult> {
    const path = `${this.#instance(namespace, id)}/search`;
    return this.#search("searchInstance", path, body, opts);
  }

  async chatCompletions(
    namespace: string,
    body: ChatCompletionRequest,
    opts?: CallOptions,
  ): Promise<ChatCompletionResponse> {
    assertNamespaceName(namespace);
    assertBodyInstanceIds(body?.ai_search_options);
    return this.#completion(
      "chatCompletions",
      `${this.#ns(namespace)}/chat/completions`,
      body,
      opts,
    );
  }

  async instanceChatCompletions(
    namespace: string,
    id: string,
    body: ChatCompletionRequest,
    opts?: CallOptions,
  ): Promise<ChatCompletionResponse> {
    const path = `${this.#instance(namespace, id)}/chat/completions`;
    return this.#completion("instanceChatCompletions", path, body, opts);
  }

  /** Resolves once response headers arrived (HTTP errors reject here); iterate for events. */
  async streamChatCompletions(
    namespace: string,
    body: ChatCompletionRequest,
    opts?: CallOptions,
  ): Promise<ChatStream> {
    assertNamespaceName(namespace);
    assertBodyInstanceIds(body?.ai_search_options);
    return this.#stream(
      "streamChatCompletions",
      `${this.#ns(namespace)}/chat/completions`,
      body,
      opts,
    );
  }

  /** Resolves once response headers arrived (HTTP errors reject here); iterate for events. */
  async streamInstanceChatCompletions(
    namespace: string,
    id: string,
    body: ChatCompletionRequest,
    opts?: CallOptions,
  ): Promise<ChatStream> {
    const path = `${this.#instance(namespace, id)}/chat/completions`;
    return this.#stream("streamInstanceChatCompletions", path, body, opts);
  }

  /** Closes the pool once in-flight calls (open streams included) end; leaves a shared one. */
  async close(): Promise<void> {
    this.#circuit?.shutdown();
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  /** `open` while calls fail fast because the upstream keeps failing. */
  get circuitState(): CircuitState {
    return this.#circuit?.state ?? "closed";
  }

  /** Closes the pool now, failing in-flight calls and open streams; leaves a shared one. */
  async destroy(): Promise<void> {
    this.#circuit?.shutdown();
    if (this.#ownsDispatcher) await this.#dispatcher.destroy();
  }

  #ns(name: string): string {
    return `${this.#root}/namespaces/${segment(name)}`;
  }

  #instance(namespace: string, id: string): string {
    assertNamespaceName(namespace);
    assertInstanceId(id);
    return `${this.#ns(namespace)}/instances/${segment(id)}`;
  }

  async #list<T>(
    operation: string,
    path: string,
    params: ListParams,
    opts?: CallOptions,
  ): Promise<Page<T>> {
    const isList = (parsed: Json) => Array.isArray(parsed.result);
    const envelope = await this.#json(exchange(operation, "read", "GET", path), opts, isList);
    return toPage<T>(envelope, params);
  }

  async #enveloped(operation: string, path: string, opts: CallOptions | undefined) {
    const isRecord = (parsed: Json) => isObject(parsed.result);
    return (await this.#json(exchange(operation, "read", "GET", path), opts, isRecord)).result;
  }

  async #search(operation: string, path: string, body: SearchRequest, opts?: CallOptions) {
    // Searches have no side effects, so they retry like reads.
    const request = exchange(operation, "read", "POST", path, body);
    const valid = (parsed: Json) => isObject(parsed.result) && Array.isArray(parsed.result.chunks);
    return (await this.#json(request, opts, valid)).result as SearchResult;
  }

  async #completion(
    operation: string,
    path: string,
    body: ChatCompletionRequest,
    opts?: CallOptions,
  ): Promise<ChatCompletionResponse> {
    const { stream: _ignored, ...rest } = body ?? ({} as ChatCompletionRequest);
    const request = exchange(operation, "completion", "POST", path, rest);
    // Not enveloped: the completion is the top-level object.
    const parsed = await this.#json(request, opts, (v) => Array.isArray(v.choices), false);
    if (!Array.isArray(parsed.chunks)) parsed.chunks = [];
    return parsed as unknown as ChatCompletionResponse;
  }

  #stream(operation: string, path: string, body: ChatCompletionRequest, opts?: CallOptions) {
    const request = exchange(operation, "completion", "POST", path, { ...body, stream: true });
    request.accept = "text/event-stream";
    return this.#call(request, opts, undefined, async (res, scope): Promise<ChatStream> => {
      const type = res.headers["content-type"];
      if (typeof type !== "string" || !type.toLowerCase().startsWith("text/event-stream")) {
        discard(res.body);
        throw new UpstreamProtocolError("unexpected-content-type");
      }
      return chatStream(res.body, scope, this.#maxJsonBytes);
    });
  }

  /** A JSON exchange: parse, unwrap the envelope when `enveloped`, check the shape. */
  async #json(
    exchange: Exchange,
    opts: CallOptions | undefined,
    valid: (parsed: Json) => boolean,
    enveloped = true,
  ) {
    if (exchange.kind === "read" && this.#inFlight) {
      const key = this.#readKey(exchange, opts);
      const inFlight = this.#inFlight;
      return inFlight.run(key, opts?.signal, (signal) =>
        this.#sendJson(exchange, { ...opts, signal }, valid, enveloped),
      );
    }
    return this.#sendJson(exchange, opts, valid, enveloped);
  }

  /** Everything that makes two reads' answers differ; credentials only as a hash. */
  #readKey(exchange: Exchange, opts: CallOptions | undefined): string {
    // Only what changes the answer: not the request id, which differs for every caller.
    return readKey(exchange, this.#authFor(opts) ?? authHeaders(undefined));
  }

  async #sendJson(
    exchange: Exchange,
    opts: CallOptions | undefined,
    valid: (parsed: Json) => boolean,
    enveloped: boolean,
  ) {
    return this.#call(exchange, opts, this.#timeouts.deadlineMs, async (res) => {
      const parsed = await readJson(res.body, res.headers, this.#maxJsonBytes);
      if (!isObject(parsed)) throw new UpstreamProtocolError("unexpected-shape");
      if (parsed.success === false) {
        throw errorFromStatus(res.statusCode, { cloudflareErrors: cloudflareErrors(parsed) });
      }
      if ((enveloped && parsed.success !== true) || !valid(parsed)) {
        throw new UpstreamProtocolError("unexpected-shape");
      }
      return parsed;
    });
  }

  #headers(exchange: Exchange, opts: CallOptions | undefined): Record<string, string> {
    const auth = this.#authFor(opts);
    if (auth === undefined) return authHeaders(undefined); // throws InvalidCredentialsError("missing")
    const headers: Record<string, string> = {
      ...auth,
      accept: exchange.accept,
      "user-agent": this.#userAgent,
    };
    if (exchange.body !== undefined) headers["content-type"] = "application/json";
    if (opts?.requestId !== undefined) {
      assertRequestId(opts.requestId);
      headers["x-request-id"] = opts.requestId;
    }
    return headers;
  }

  #authFor(opts: CallOptions | undefined): AuthHeaders | undefined {
    return opts?.credentials === undefined ? this.#auth : authHeaders(opts.credentials);
  }

  /**
   * Sends `exchange`, retrying per retry.ts, and hands a 2xx response to `handle`. Everything
   * is validated before the first byte leaves. Calls without a deadline are streams, whose
   * `handle` takes over the scope. Retries happen only inside this loop, so a
   * stream is never retried once `handle` has returned it to the caller.
   */
  async #call<T>(
    exchange: Exchange,
    opts: CallOptions | undefined,
    deadlineMs: number | undefined,
    handle: (res: Dispatcher.ResponseData, scope: CallScope) => Promise<T>,
  ): Promise<T> {
    const send = () => this.#send(exchange, opts, deadlineMs, handle);
    return this.#circuit ? this.#circuit.run(send) : send();
  }

  async #send<T>(
    exchange: Exchange,
    opts: CallOptions | undefined,
    deadlineMs: number | undefined,
    handle: (res: Dispatcher.ResponseData, scope: CallScope) => Promise<T>,
  ): Promise<T> {
    const headers = this.#headers(exchange, opts);
    const payload = exchange.body === undefined ? undefined : JSON.stringify(exchange.body);
    const scope = new CallScope(opts?.signal, deadlineMs, this.#timeouts);
    for (let attempt = 0; ; attempt++) {
      let error: UpstreamError;
      try {
        const aborted = scope.abortError;
        if (aborted) throw aborted;
        const res = await this.#dispatcher.request({
          origin: this.#origin,
          method: exchange.method,
          path: exchange.path,
          headers,
          body: payload ?? null,
          signal: scope.signal,
          headersTimeout: this.#timeouts.headersMs,
          bodyTimeout: this.#timeouts.idleMs,
        });
        if (res.statusCode < 200 || res.statusCode >= 300) {
          const failure = await httpError(res.statusCode, res.headers, res.body);
          throw scope.abortError ?? failure;
        }
        const result = await handle(res, scope);
        // A stream owns the scope from here on: the caller's signal must keep working.
        if (deadlineMs !== undefined) scope.dispose();
        return result;
      } catch (thrown) {
        const mapped = scope.toUpstreamError(thrown);
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
        final.operation = exchange.operation;
        final.attempts = attempt + 1;
        throw final;
      }
    }
  }
}
