import { randomUUID } from "node:crypto";
import type { Plugin } from "graphql-yoga";
import { requestState } from "../request-state.ts";

export interface RequestIdOptions {
  /**
   * Incoming header whose value is reused as the request id when it looks safe, so a caller's
   * trace id follows the request to the upstream and back.
   * @default "x-request-id"
   */
  header?: string;
}

/** Printable, short, no separators a log line or header could be split on. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const ids = requestState<string>("request id");

/**
 * The id given to this request by {@link useRequestId}. A request it never saw (a graphql-ws
 * operation, which skips `onRequest`) gets a fresh one on first asking, and keeps it, so its log
 * line, span and upstream calls agree.
 */
export function requestIdOf(request: Request | undefined): string {
  if (!request) return randomUUID();
  let id = ids.get(request);
  if (id === undefined) {
    id = randomUUID();
    ids.set(request, id);
  }
  return id;
}

/** Gives every request an id, echoes it in the response and lets the context send it upstream. */
export function useRequestId(options: RequestIdOptions = {}): Plugin {
  const header = options.header ?? "x-request-id";
  return {
    onRequest({ request }) {
      const incoming = request.headers.get(header);
      ids.set(request, incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID());
    },
    onResponse({ request, response }) {
      const id = ids.get(request);
      if (id) response.headers.set(header, id);
    },
  };
}
