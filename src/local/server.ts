/**
 * The embedded local AI Search: a small but real implementation of the Cloudflare AI Search
 * REST API on loopback, serving a corpus folder plus whatever is written through the API
 * (namespaces, instances, uploaded items, kept in a data directory). Used for the gateway's
 * default run, for tests (request log, fault injection, abort tracking) and for working offline.
 *
 * Request pipeline: record → read body (capped; uploads stream their own) → injected faults →
 * auth → size check → route. Faults come first because they stand in for network and upstream
 * trouble, which a client meets before the upstream ever looks at its credentials.
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { RequestContext } from "./context.ts";
import { defaultCorpusDir } from "./corpus.ts";
import { DEFAULT_STREAM_DELAY_MS } from "./env.ts";
import { applyPreResponseFaults, type FaultConfig, FaultController } from "./faults.ts";
import {
  ApiError,
  type BodyOutcome,
  discardBody,
  ErrorCode,
  isAuthorised,
  readBody,
  sendError,
  trackStatus,
} from "./http.ts";
import { type ResolvedRoute, resolveRoute } from "./routes.ts";
import { openServices } from "./services.ts";
import { defaultDataDir } from "./store.ts";
import { UploadAborted } from "./uploads.ts";

export type { FaultConfig } from "./faults.ts";
export { defaultCorpusDir, defaultDataDir };

export interface LocalAiSearchOptions {
  corpusDir?: string; // @default <repo>/corpus  (env LOCAL_CORPUS_DIR in main.ts)
  host?: string; // @default "127.0.0.1"
  port?: number; // @default 0 (ephemeral)
  apiToken?: string; // when set, only `Bearer <apiToken>` is accepted; otherwise any credentials
  streamDelayMs?: number; // pause between streamed deltas, @default DEFAULT_STREAM_DELAY_MS
  llm?: { baseUrl: string; model: string; apiKey?: string }; // OpenAI-compatible chat endpoint
  embeddings?: { baseUrl: string; model: string; apiKey?: string }; // OpenAI-compatible embeddings
  faults?: FaultConfig;
  /**
   * Where namespaces, instances and uploaded items are kept across restarts (env LOCAL_DATA_DIR,
   * whose default is `defaultDataDir()`). @default a fresh temporary directory, removed on close
   */
  dataDir?: string;
  indexingStepMs?: number; // pause before each item status change while indexing, @default 50
  syncCooldownMs?: number; // minimum time between user-started syncs of an instance, @default 30_000
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string; // path without the query string
  status?: number; // once answered
  aborted: boolean; // the client closed before the server finished the response
  requestId?: string; // the `x-request-id` header, when sent
  traceparent?: string; // the W3C `traceparent` header, when sent
}

export interface LocalAiSearch {
  url: string; // "http://127.0.0.1:PORT"
  baseUrl: string; // url + "/client/v4", what a client uses as its API base
  setFaults(faults: FaultConfig | undefined): void;
  readonly requests: readonly RecordedRequest[];
  resetRequests(): void;
  /** Resolves when a request whose path contains `match` is aborted by its client; rejects after timeoutMs. */
  waitForAbort(match?: string, timeoutMs?: number): Promise<RecordedRequest>;
  /** Sockets currently open to this server. */
  openConnections(): number;
  /** The data directory in use (the temporary one only once something was written). */
  readonly dataDir: string | undefined;
  close(): Promise<void>;
}

/** Search and chat bodies are small JSON; anything bigger is a client bug or an attack. */
export const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_ABORT_WAIT_MS = 5_000;

interface AbortWaiter {
  match: string | undefined;
  resolve(record: RecordedRequest): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export async function startLocalAiSearch(
  options: LocalAiSearchOptions = {},
): Promise<LocalAiSearch> {
  const { services, close: closeServices } = await openServices({
    corpusDir: options.corpusDir ?? defaultCorpusDir(),
    dataDir: options.dataDir,
    llm: options.llm,
    embeddings: options.embeddings,
    streamDelayMs: options.streamDelayMs ?? DEFAULT_STREAM_DELAY_MS,
    indexingStepMs: options.indexingStepMs ?? 50,
    syncCooldownMs: options.syncCooldownMs ?? 30_000,
  });
  const faults = new FaultController();
  faults.set(options.faults);

  const log: RecordedRequest[] = [];
  // Each aborted request satisfies at most one waitForAbort call, so sequential waits in a
  // test observe sequential aborts rather than the first one over and over.
  const claimed = new WeakSet<RecordedRequest>();
  const waiters = new Set<AbortWaiter>();
  const sockets = new Set<Socket>();

  const matches = (record: RecordedRequest, match: string | undefined) =>
    match === undefined || record.path.includes(match);

  const noteAbort = (record: RecordedRequest) => {
    for (const waiter of waiters) {
      if (claimed.has(record) || !matches(record, waiter.match)) continue;
      claimed.add(record);
      waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(record);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Prefixing keeps protocol-relative targets ("//x") as paths instead of hosts.
    const url = new URL(`http://local${req.url?.startsWith("/") ? req.url : `/${req.url ?? ""}`}`);
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search.slice(1),
      aborted: false,
    };
    // Correlation headers only: they let tests see what a client propagated, and carry no secret.
    const { "x-request-id": requestId, traceparent } = req.headers;
    if (typeof requestId === "string") record.requestId = requestId;
    if (typeof traceparent === "string") record.traceparent = traceparent;
    log.push(record);
    trackStatus(res, record);
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) {
        record.aborted = true;
        noteAbort(record);
      }
      controller.abort();
    });
    const signal = controller.signal;

    // Route errors wait until after auth: a stranger learns nothing about which paths exist.
    let route: ResolvedRoute | ApiError;
    try {
      route = resolveRoute(record.method, record.path);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      route = error;
    }
    const streams = !(route instanceof ApiError) && route.streamsBody;
    const body: BodyOutcome = streams
      ? { kind: "complete", body: Buffer.alloc(0) }
      : await readBody(req, MAX_BODY_BYTES);
    if (body.kind === "aborted") return;
    // A refused upload is drained (up to a bound) so the client can read why.
    if (streams) res.once("finish", () => discardBody(req, MAX_BODY_BYTES * 16));
    const fault = faults.take(record.path);
    if (fault && (await applyPreResponseFaults(fault, res, signal)) !== "continue") return;

    if (!isAuthorised(req.headers, options.apiToken)) {
      throw new ApiError(
        401,
        ErrorCode.authentication,
        "Authentication error: send Authorization: Bearer <token> or X-Auth-Email and X-Auth-Key",
        undefined,
        {
          "www-authenticate": 'Bearer realm="local-ai-search"',
        },
      );
    }
    if (body.kind === "too-large") {
      throw new ApiError(
        413,
        ErrorCode.payloadTooLarge,
        `request body of ${body.bytes} bytes exceeds the ${MAX_BODY_BYTES}-byte limit`,
      );
    }
    if (route instanceof ApiError) throw route;
    const ctx: RequestContext = {
      services,
      req,
      res,
      query: url.searchParams,
      body: body.body,
      signal,
      fault,
      params: route.params,
    };
    await route.handler(ctx);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof UploadAborted) return; // the client hung up mid-upload
      if (res.headersSent) {
        // Mid-stream failure: the status is gone, so a truncated body is the only signal left.
        res.end();
        return;
      }
      if (error instanceof ApiError) {
        sendError(res, error);
        return;
      }
      if (res.destroyed) return;
      console.error("[local-ai-search] unexpected error:", error);
      sendError(
        res,
        new ApiError(500, ErrorCode.internal, "internal error in the local AI Search"),
      );
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    baseUrl: `${url}/client/v4`,
    setFaults: (next) => faults.set(next),
    get requests() {
      return log;
    },
    resetRequests() {
      log.length = 0;
    },
    waitForAbort(match, timeoutMs = DEFAULT_ABORT_WAIT_MS) {
      const already = log.find(
        (record) => record.aborted && !claimed.has(record) && matches(record, match),
      );
      if (already) {
        claimed.add(already);
        return Promise.resolve(already);
      }
      return new Promise((resolve, reject) => {
        const waiter: AbortWaiter = {
          match,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(
              new Error(
                `no request${match ? ` matching "${match}"` : ""} was aborted within ${timeoutMs} ms`,
              ),
            );
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    openConnections: () => sockets.size,
    get dataDir() {
      return services.store.location;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve(closeServices()));
        // Stalled and streaming responses would otherwise keep server.close() waiting forever.
        for (const socket of sockets) socket.destroy();
        for (const waiter of waiters) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error("the local AI Search was closed"));
        }
        waiters.clear();
      });
      return closing;
    },
  };
}
