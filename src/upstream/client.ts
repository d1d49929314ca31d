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
import { ItemCalls } from "./items.ts";
import { assertAccountId, assertNamespaceName, segment } from "./names.ts";
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
} from "./options.ts";
import type { ChatStream } from "./stream.ts";
import { exchange, Transport } from "./transport.ts";
import type {
  ChatCompletionRequest,
  ChatCompletionResponse,
  Instance,
  InstanceStats,
  Namespace,
  SearchRequest,
  SearchResult,
} from "./types.ts";

/**
 * The AI Search API as one caller sees it. Every method validates its names before anything is
 * sent, and may be given a signal that narrows the binding's; nothing per call can change who
 * is calling. The read side is here; the management side is layered beneath it (items.ts,
 * management.ts), over the binding in calls.ts.
 */
export class BoundAiSearchClient extends ItemCalls {
  async listNamespaces(params: ListParams = {}, opts?: CallOptions): Promise<Page<Namespace>> {
    const path = this.apiPath(`/namespaces${listQuery(params)}`);
    return this.list<Namespace>("listNamespaces", path, params, opts);
  }

  async getNamespace(name: string, opts?: CallOptions): Promise<Namespace> {
    assertNamespaceName(name);
    return this.record("getNamespace", this.namespacePath(name), opts) as Promise<Namespace>;
  }

  async listInstances(
    namespace: string,
    params: ListInstancesParams = {},
    opts?: CallOptions,
  ): Promise<Page<Instance>> {
    assertNamespaceName(namespace);
    const path = `${this.namespacePath(namespace)}/instances${listQuery(params)}`;
    return this.list<Instance>("listInstances", path, params, opts);
  }

  async getInstance(namespace: string, id: string, opts?: CallOptions): Promise<Instance> {
    const path = this.instancePath(namespace, id);
    return this.record("getInstance", path, opts) as Promise<Instance>;
  }

  async getInstanceStats(
    namespace: string,
    id: string,
    opts?: CallOptions,
  ): Promise<InstanceStats> {
    const path = `${this.instancePath(namespace, id)}/stats`;
    return this.record("getInstanceStats", path, opts) as Promise<InstanceStats>;
  }

  async searchNamespace(
    namespace: string,
    body: SearchRequest,
    opts?: CallOptions,
  ): Promise<SearchResult> {
    assertNamespaceName(namespace);
    assertBodyInstanceIds(body?.ai_search_options);
    return this.#search("searchNamespace", `${this.namespacePath(namespace)}/search`, body, opts);
  }

  async searchInstance(
    namespace: string,
    id: string,
    body: SearchRequest,
    opts?: CallOptions,
  ): Promise<SearchResult> {
    const path = `${this.instancePath(namespace, id)}/search`;
    return this.#search("searchInstance", path, body, opts);
  }

  async chatCompletions(
    namespace: string,
    body: ChatCompletionRequest,
    opts?: CallOptions,
  ): Promise<ChatCompletionResponse> {
    assertNamespaceName(namespace);
    assertBodyInstanceIds(body?.ai_search_options);
    const path = `${this.namespacePath(namespace)}/chat/completions`;
    return this.#completion("chatCompletions", path, body, opts);
  }

  async instanceChatCompletions(
    namespace: string,
    id: string,
    body: ChatCompletionRequest,
    opts?: CallOptions,
  ): Promise<ChatCompletionResponse> {
    const path = `${this.instancePath(namespace, id)}/chat/completions`;
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
    const path = `${this.namespacePath(namespace)}/chat/completions`;
    return this.#stream("streamChatCompletions", path, body, opts);
  }

  /** Resolves once response headers arrived (HTTP errors reject here); iterate for events. */
  async streamInstanceChatCompletions(
    namespace: string,
    id: string,
    body: ChatCompletionRequest,
    opts?: CallOptions,
  ): Promise<ChatStream> {
    const path = `${this.instancePath(namespace, id)}/chat/completions`;
    return this.#stream("streamInstanceChatCompletions", path, body, opts);
  }

  async #search(endpoint: string, path: string, body: SearchRequest, opts?: CallOptions) {
    // Searches have no side effects, so they retry (and coalesce) like reads.
    const request = exchange(endpoint, "read", "POST", path, body);
    const valid = (parsed: Json) => isObject(parsed.result) && Array.isArray(parsed.result.chunks);
    return (await this.json(request, opts, valid)).result as SearchResult;
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
    const parsed = await this.json(request, opts, (v) => Array.isArray(v.choices), false);
    if (!Array.isArray(parsed.chunks)) parsed.chunks = [];
    return parsed as unknown as ChatCompletionResponse;
  }

  #stream(endpoint: string, path: string, body: ChatCompletionRequest, opts?: CallOptions) {
    const request = exchange(endpoint, "completion", "POST", path, { ...body, stream: true });
    request.accept = "text/event-stream";
    return this.openStream(request, opts);
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
