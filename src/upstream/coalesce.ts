import { createHash } from "node:crypto";
import { UpstreamAbortedError } from "./errors.ts";

interface Shared<T> {
  result: Promise<T>;
  controller: AbortController;
  waiting: number;
}

/**
 * Coalesces identical in-flight reads: callers asking for the same key while a request is under
 * way share its answer instead of sending another. The key must include everything that makes
 * an answer differ, credentials above all, so no caller ever receives another's data.
 *
 * The shared request is aborted only when every caller waiting for it has gone.
 */
export class InFlightReads {
  readonly #pending = new Map<string, Shared<unknown>>();

  get size(): number {
    return this.#pending.size;
  }

  run<T>(key: string, signal: AbortSignal | undefined, send: (signal: AbortSignal) => Promise<T>) {
    let shared = this.#pending.get(key) as Shared<T> | undefined;
    if (!shared) {
      const controller = new AbortController();
      const result = send(controller.signal).finally(() => {
        if (this.#pending.get(key) === entry) this.#pending.delete(key);
      });
      // Callers attach their own handlers; this one only keeps a lone rejection from going unhandled.
      result.catch(() => {});
      const entry: Shared<T> = { result, controller, waiting: 0 };
      shared = entry;
      this.#pending.set(key, entry as Shared<unknown>);
    }
    return this.#wait(key, shared, signal);
  }

  #wait<T>(key: string, shared: Shared<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) return Promise.reject(new UpstreamAbortedError());
    shared.waiting++;
    if (!signal) return shared.result.finally(() => shared.waiting--);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = () => {
        if (settled) return false;
        settled = true;
        shared.waiting--;
        signal.removeEventListener("abort", leave);
        return true;
      };
      const leave = () => {
        if (shared.waiting === 1) {
          // The last caller left: abort the request itself and let its own abort error (with
          // its attempt count) settle this caller. A new caller must not join it any more.
          if (this.#pending.get(key) === shared) this.#pending.delete(key);
          shared.controller.abort();
          return;
        }
        if (settle()) reject(new UpstreamAbortedError());
      };
      signal.addEventListener("abort", leave, { once: true });
      shared.result.then(
        (value) => settle() && resolve(value),
        (error: unknown) => settle() && reject(error),
      );
    });
  }
}

/** Stands for a caller's credentials in coalescing keys: a hash, never the credentials themselves. */
export function credentialsKey(auth: Readonly<Record<string, string>>): string {
  return createHash("sha256").update(JSON.stringify(auth)).digest("base64url");
}

/** The coalescing key of a read: method, path, body and the caller's {@link credentialsKey}. */
export function readKey(
  request: { method: string; path: string; body?: unknown },
  credentials: string,
): string {
  return `${request.method} ${request.path}\n${JSON.stringify(request.body ?? null)}\n${credentials}`;
}
