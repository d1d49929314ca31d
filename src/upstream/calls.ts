/**
 * What every method of a bound client is built from: the binding (transport and caller), URL
 * building over validated names, and the JSON and stream exchanges. The API itself is layered on
 * top by domain, one file each — management.ts (namespaces, instances, jobs), items.ts (items
 * and uploads), client.ts (reads, search and chat) — so no file has to hold all of it.
 */

import type { HttpMethod } from "./hooks.ts";
import { assertInstanceId, assertNamespaceName, segment } from "./names.ts";
import {
  type CallOptions,
  isObject,
  type Json,
  type ListParams,
  type Page,
  toPage,
} from "./options.ts";
import type { ChatStream } from "./stream.ts";
import { type Caller, type Exchange, exchange, type Transport } from "./transport.ts";

/** The signal a call runs under: the binding's and the call's own, whichever aborts first. */
function callSignal(caller: Caller, opts: CallOptions | undefined): AbortSignal | undefined {
  const own = opts?.signal;
  if (!own) return caller.signal;
  return caller.signal ? AbortSignal.any([caller.signal, own]) : own;
}

const isRecord = (parsed: Json) => isObject(parsed.result);
const isList = (parsed: Json) => Array.isArray(parsed.result);

export abstract class BoundCalls {
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

  /**
   * Stands for the binding's credentials: a hash, never the credentials. Work shared between
   * callers (a poller) keys on it, so callers with different credentials never share answers.
   */
  get credentialsKey(): string {
    return this.#caller.credentialsKey;
  }

  /** `…/ai-search<suffix>`, e.g. `apiPath("/namespaces")`. */
  protected apiPath(suffix: string): string {
    return `${this.#root}${suffix}`;
  }

  /** `…/namespaces/<name>`; the name must already have passed its rule. */
  protected namespacePath(name: string): string {
    return this.apiPath(`/namespaces/${segment(name)}`);
  }

  /** `…/namespaces/<namespace>/instances/<id>`, both names checked first. */
  protected instancePath(namespace: string, id: string): string {
    assertNamespaceName(namespace);
    assertInstanceId(id);
    return `${this.namespacePath(namespace)}/instances/${segment(id)}`;
  }

  protected json(
    request: Exchange,
    opts: CallOptions | undefined,
    valid: (p: Json) => boolean,
    enveloped = true,
  ): Promise<Json> {
    return this.#transport.json(
      request,
      this.#caller,
      callSignal(this.#caller, opts),
      valid,
      enveloped,
    );
  }

  protected openStream(request: Exchange, opts: CallOptions | undefined): Promise<ChatStream> {
    return this.#transport.stream(request, this.#caller, callSignal(this.#caller, opts));
  }

  /** A GET of a list, as a page. */
  protected async list<T>(
    endpoint: string,
    path: string,
    params: ListParams,
    opts?: CallOptions,
  ): Promise<Page<T>> {
    const envelope = await this.json(exchange(endpoint, "read", "GET", path), opts, isList);
    return toPage<T>(envelope, params);
  }

  /** A GET of a list the upstream does not page (`result` is the whole array asked for). */
  protected async array<T>(endpoint: string, path: string, opts?: CallOptions): Promise<T[]> {
    const envelope = await this.json(exchange(endpoint, "read", "GET", path), opts, isList);
    return envelope.result as T[];
  }

  /** A GET of one object. */
  protected async record(endpoint: string, path: string, opts: CallOptions | undefined) {
    return (await this.json(exchange(endpoint, "read", "GET", path), opts, isRecord)).result;
  }

  /**
   * A write answered with one object in the envelope (or, with `anyResult`, with whatever the
   * upstream documents no shape for). Retried only when it cannot have been applied (retry.ts).
   */
  protected async write(
    endpoint: string,
    method: HttpMethod,
    path: string,
    body: unknown,
    opts: CallOptions | undefined,
    anyResult = false,
  ): Promise<unknown> {
    const request = exchange(endpoint, "write", method, path, body);
    return (await this.json(request, opts, anyResult ? () => true : isRecord)).result;
  }
}
