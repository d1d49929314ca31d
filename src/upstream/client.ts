/**
 * The AI Search REST client: validated names and credentials, typed errors, retries (see
 * retry.ts), typed streams (see sse.ts), all over one shared transport (transport.ts).
 *
 * A client is bound to a caller with `withCall({ credentials, signal, requestId })`: the bound
 * client sends every call with them, so code handed a bound client cannot forget the caller's
 * token or fall back to the operator's. Bindings are cheap and share the client's pool, circuit
 * breaker, coalescing of identical reads and hooks.
 */
import type { CircuitState } from "./circuit.ts";
import { assertAccountId, assertInstanceId, assertNamespaceName, segment } from "./names.ts";
import {
  type AiSearchClientOptions,
  assertBodyInstanceIds,
  type CallBinding,
  type CallOptions,
  isObject,
  type Json,
  type ListInstancesParams,
  type ListParams,
  listQuery,
  type Page,
  toPage,
} from "./options.ts";
import type { ChatStream } from "./stream.ts";
import { type Caller, type Exchange, exchange, Transport } from "./transport.ts";
import type {
  ChatCompletionRequest,
  ChatCompletionResponse,
  Instance,
  InstanceStats,
  Namespace,
  SearchRequest,
  SearchResult,
} from "./types.ts";

/** The signal a call runs under: the binding's and the call's own, whichever aborts first. */
function callSignal(caller: Caller, opts: CallOptions | undefined): AbortSignal | undefined {
  const own = opts?.signal;
  if (!own) return caller.signal;
  return caller.signal ? AbortSignal.any([caller.signal, own]) : own;
}

/**
 * The AI Search API as one caller sees it. Every method validates its names before anything is
 * sent, and may be given a signal that narrows the binding's; nothing per call can change who
 * is calling.
 */
export class BoundAiSearchClient {
  readonly #transport: Transport;
  readonly #caller: Caller;
  /** `/client/v4/accounts/<id>/ai-search` */
  readonly #root: string;

  /** Made by {@link AiSearchClient.withCall}; not meant to be constructed directly. */
  constructor(transport: Transport, root: string, caller: Caller) {
    this.#transport = transport;
    this.#root = root;
    this.#caller = caller;
  }

  /** The binding's signal: aborted once the caller is gone. */
  get signal(): AbortSignal | undefined {
    return this.#caller.signal;
  }

  async listNamespaces(params: ListParams = {}, opts?: CallOptions): Promise<Page<Namespace>> {
    const path = `${this.#root}/namespaces${listQuery(params)}`;
    return this.#list<Namespace>("listNamespaces", path, params, opts);
  }

  async getNamespace(name: string, opts?: CallOptions): Promise<Namespace> {
    assertNamespaceName(name);
    return this.#record("getNamespace", this.#ns(name), opts) as Promise<Namespace>;
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
    return this.#record("getInstance", path, opts) as Promise<Instance>;
  }

  async getInstanceStats(
    namespace: string,
    id: string,
    opts?: CallOptions,
  ): Promise<InstanceStats> {
    const path = `${this.#instance(namespace, id)}/stats`;
    return this.#record("getInstanceStats", path, opts) as Promise<InstanceStats>;
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
    const path = `${this.#ns(namespace)}/chat/completions`;
    return this.#completion("chatCompletions", path, body, opts);
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
    const path = `${this.#ns(namespace)}/chat/completions`;
    return this.#stream("streamChatCompletions", path, body, opts);
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

  #ns(name: string): string {
    return `${this.#root}/namespaces/${segment(name)}`;
  }

  #instance(namespace: string, id: string): string {
    assertNamespaceName(namespace);
    assertInstanceId(id);
    return `${this.#ns(namespace)}/instances/${segment(id)}`;
  }

  #json(
    request: Exchange,
    opts: CallOptions | undefined,
    valid: (p: Json) => boolean,
    enveloped = true,
  ) {
    return this.#transport.json(
      request,
      this.#caller,
      callSignal(this.#caller, opts),
      valid,
      enveloped,
    );
  }

  async #list<T>(endpoint: string, path: string, params: ListParams, opts?: CallOptions) {
    const isList = (parsed: Json) => Array.isArray(parsed.result);
    const envelope = await this.#json(exchange(endpoint, "read", "GET", path), opts, isList);
    return toPage<T>(envelope, params);
  }

  async #record(endpoint: string, path: string, opts: CallOptions | undefined) {
    const isRecord = (parsed: Json) => isObject(parsed.result);
    return (await this.#json(exchange(endpoint, "read", "GET", path), opts, isRecord)).result;
  }

  async #search(endpoint: string, path: string, body: SearchRequest, opts?: CallOptions) {
    // Searches have no side effects, so they retry (and coalesce) like reads.
    const request = exchange(endpoint, "read", "POST", path, body);
    const valid = (parsed: Json) => isObject(parsed.result) && Array.isArray(parsed.result.chunks);
    return (await this.#json(request, opts, valid)).result as SearchResult;
  }

  async #completion(
    endpoint: string,
    path: string,
    body: ChatCompletionRequest,
    opts?: CallOptions,
  ): Promise<ChatCompletionResponse> {
    const { stream: _ignored, ...rest } = body ?? ({} as ChatCompletionRequest);
    const request = exchange(endpoint, "completion", "POST", path, rest);
    // Not enveloped: the completion is the top-level object.
    const parsed = await this.#json(request, opts, (v) => Array.isArray(v.choices), false);
    if (!Array.isArray(parsed.chunks)) parsed.chunks = [];
    return parsed as unknown as ChatCompletionResponse;
  }

  #stream(endpoint: string, path: string, body: ChatCompletionRequest, opts?: CallOptions) {
    const request = exchange(endpoint, "completion", "POST", path, { ...body, stream: true });
    request.accept = "text/event-stream";
    return this.#transport.stream(request, this.#caller, callSignal(this.#caller, opts));
  }
}

/**
 * The client of one upstream account. Its own methods call with its configured credentials
 * (the operator's); `withCall` binds it to a caller. Owns the pool: `close()` it when done.
 */
export class AiSearchClient extends BoundAiSearchClient {
  readonly #transport: Transport;
  readonly #root: string;

  constructor(options: AiSearchClientOptions) {
    assertAccountId(options.accountId);
    const transport = new Transport(options);
    const root = `${transport.basePath}/accounts/${segment(options.accountId)}/ai-search`;
    super(transport, root, transport.caller({}));
    this.#transport = transport;
    this.#root = root;
  }

  /**
   * This client bound to one caller: every call it makes carries `binding`'s credentials (or
   * the client's own when it has none), stops when its signal aborts, and sends its request id.
   * Bad credentials or a bad request id do not throw here: each call of the binding fails with
   * that error, before anything is sent.
   */
  withCall(binding: CallBinding): BoundAiSearchClient {
    return new BoundAiSearchClient(this.#transport, this.#root, this.#transport.caller(binding));
  }

  /** `open` while calls fail fast because the upstream keeps failing. */
  get circuitState(): CircuitState {
    return this.#transport.circuitState;
  }

  /** Closes the pool once in-flight calls (open streams included) end; leaves a shared one. */
  close(): Promise<void> {
    return this.#transport.close();
  }

  /** Closes the pool now, failing in-flight calls and open streams; leaves a shared one. */
  destroy(): Promise<void> {
    return this.#transport.destroy();
  }
}
