/**
 * HTTP plumbing shared by the routes: the v4 envelope, Cloudflare-style errors, body reading
 * with a size cap, and recording the status of every response we start.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from "node:http";
import type { CloudflareMessage, Envelope, ResultInfo } from "../upstream/types.ts";

/**
 * Error codes of the local server. The AI Search ones are Cloudflare's documented codes (see
 * docs/aisearch-management-api.md); routing, validation, fault and internal errors have no
 * documented AI Search code and keep local values in Cloudflare's style.
 */
export const ErrorCode = {
  noRoute: 7000,
  methodNotAllowed: 7001,
  instanceNotFound: 7002, // ai_search_not_found
  namespaceNotFound: 7063,
  itemNotFound: 7041,
  jobNotFound: 7021,
  namespaceExists: 7064,
  defaultNamespace: 7065, // cannot_modify_default_namespace
  namespaceNotEmpty: 7066,
  namespaceSameName: 7067,
  maxNamespaces: 7062,
  instanceExists: 7022, // ai_search_with_this_name_already_exist
  instancePaused: 7032,
  itemKeyExists: 7042,
  managedOnly: 7053, // this_operation_requires_a_managed_instance
  fileTooLarge: 7054,
  fileRequired: 7055,
  invalidMetadata: 7056,
  externalDownload: 7059,
  unsupportedFileType: 7060,
  filenameTooLong: 7072,
  syncCooldown: 7020,
  jobNotCancellable: 7046,
  authentication: 10000,
  invalidRequest: 10001,
  payloadTooLarge: 10013,
  injectedFault: 10090,
  modelFailure: 10502,
  internal: 10500,
} as const;

/** Thrown by handlers; the pipeline turns it into an error envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly pointer?: string,
    readonly headers: OutgoingHttpHeaders = {},
  ) {
    super(message);
  }
}

export interface StatusRecord {
  status?: number;
}

const statusRecords = new WeakMap<ServerResponse, StatusRecord>();

/** Associates a response with the request-log entry that should learn its status. */
export function trackStatus(res: ServerResponse, record: StatusRecord): void {
  statusRecords.set(res, record);
}

/**
 * Every response header goes through here, so the request log knows a status the moment it is
 * sent — a test that awaited the response can read it without racing the `finish` event.
 */
export function writeHead(res: ServerResponse, status: number, headers: OutgoingHttpHeaders): void {
  const record = statusRecords.get(res);
  if (record) record.status = status;
  res.writeHead(status, headers);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  writeHead(res, status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

export function sendResult<T>(res: ServerResponse, result: T, resultInfo?: ResultInfo): void {
  const envelope: Envelope<T> = { success: true, errors: [], messages: [], result };
  if (resultInfo) envelope.result_info = resultInfo;
  sendJson(res, 200, envelope);
}

export function sendError(res: ServerResponse, error: ApiError): void {
  const message: CloudflareMessage = { code: error.code, message: error.message };
  if (error.pointer !== undefined) message.source = { pointer: error.pointer };
  sendJson(
    res,
    error.status,
    { success: false, errors: [message], messages: [], result: null },
    error.headers,
  );
}

export type BodyOutcome =
  | { kind: "complete"; body: Buffer }
  | { kind: "too-large"; bytes: number }
  | { kind: "aborted" };

/**
 * Reads the request body, keeping at most `limit` bytes. An oversized body is still drained
 * (up to a sanity bound) so the client can read our 413 instead of seeing a reset connection.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyOutcome> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let bytes = 0;
    req.on("data", (part: Buffer) => {
      bytes += part.length;
      if (bytes <= limit) parts.push(part);
      else if (bytes > limit * 16) req.socket.destroy();
    });
    req.on("end", () =>
      resolve(
        bytes > limit
          ? { kind: "too-large", bytes }
          : { kind: "complete", body: Buffer.concat(parts) },
      ),
    );
    req.on("error", () => resolve({ kind: "aborted" }));
    req.on("close", () => {
      if (!req.complete) resolve({ kind: "aborted" });
    });
  });
}

/**
 * Reads and drops what is left of a request body, so a client still sending can read the answer
 * instead of meeting a reset; past `limit` bytes the socket is cut.
 */
export function discardBody(req: IncomingMessage, limit: number): void {
  if (req.complete || req.destroyed) return;
  let bytes = 0;
  req.on("data", (part: Buffer) => {
    bytes += part.length;
    if (bytes > limit) req.socket.destroy();
  });
  req.resume();
}

/** Parses a JSON body; malformed or empty bodies become 400s with a useful message. */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString("utf8");
  if (text.trim().length === 0) {
    throw new ApiError(
      400,
      ErrorCode.invalidRequest,
      "the request body is empty; expected a JSON object",
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(
      400,
      ErrorCode.invalidRequest,
      `the request body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

/**
 * Upstream accepts `Authorization: Bearer <token>` or the legacy `X-Auth-Email` +
 * `X-Auth-Key` pair. Without a configured token any well-formed credentials pass (the local
 * server has nothing to protect, but clients must still send them); with one, only that bearer
 * token does.
 */
export function isAuthorised(headers: IncomingHttpHeaders, apiToken: string | undefined): boolean {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? "")?.[1];
  if (apiToken !== undefined) return bearer !== undefined && sameSecret(bearer, apiToken);
  if (bearer) return true;
  const email = headers["x-auth-email"];
  const key = headers["x-auth-key"];
  return typeof email === "string" && email.length > 0 && typeof key === "string" && key.length > 0;
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
