/**
 * Fault injection: which requests a FaultConfig applies to, and the faults that happen before
 * any response byte (stalls, latency, redirects, error statuses). Stream faults are applied
 * by stream.ts while it writes.
 */

import type { ServerResponse } from "node:http";
import { ApiError, ErrorCode, sendError, writeHead } from "./http.ts";

/** Faults a test (or LOCAL_FAULT_* variables) can inject into the local AI Search. */
export interface FaultConfig {
  latencyMs?: number; // added before answering each matching request
  errorStatus?: number; // answer with this status and a Cloudflare error envelope
  retryAfter?: string; // `Retry-After` header sent with errorStatus
  retryAfterMs?: number; // `retry-after-ms` header sent with errorStatus
  stallBeforeHeadersMs?: number; // read the request, send nothing for this long (Infinity: never)
  stallMidStreamAfterDeltas?: number; // streams: after N deltas stop sending, keep the socket open
  malformedSse?: boolean; // streams: send a frame whose data is not JSON, after `chunks`
  endWithoutDone?: boolean; // streams: end the body without `data: [DONE]`
  endlessStream?: boolean; // streams: repeat the answer's deltas forever, never finishing
  redirectTo?: string; // answer 302 with this Location
  match?: string; // only requests whose path contains this substring
  times?: number; // only the next N matching requests (default: all)
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class FaultController {
  private faults: FaultConfig | undefined;
  private remaining: number | undefined;

  set(faults: FaultConfig | undefined): void {
    this.faults = faults ? { ...faults } : undefined;
    this.remaining = faults?.times;
  }

  /** The fault for this request, consuming one of `times` when it applies. */
  take(path: string): FaultConfig | undefined {
    const faults = this.faults;
    if (!faults) return undefined;
    if (faults.match !== undefined && !path.includes(faults.match)) return undefined;
    if (this.remaining !== undefined) {
      if (this.remaining <= 0) return undefined;
      this.remaining -= 1;
    }
    return faults;
  }
}

/**
 * Waits `ms` (Infinity: until aborted). Resolves true when the time elapsed, false when the
 * signal fired first; the timer is released either way so a closed server never lingers.
 */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const finish = (elapsed: boolean) => {
      if (timer) clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve(elapsed);
    };
    const onAbort = () => finish(false);
    signal.addEventListener("abort", onAbort, { once: true });
    if (Number.isFinite(ms))
      timer = setTimeout(() => finish(true), Math.max(0, Math.min(ms, MAX_TIMER_MS)));
  });
}

/**
 * Applies the faults that precede a normal answer. Returns "continue" when the request should
 * be served normally, "answered" when the fault produced the response, "aborted" when the
 * client went away while we were stalling.
 */
export async function applyPreResponseFaults(
  fault: FaultConfig,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<"continue" | "answered" | "aborted"> {
  if (fault.stallBeforeHeadersMs !== undefined && fault.stallBeforeHeadersMs > 0) {
    if (!(await pause(fault.stallBeforeHeadersMs, signal))) return "aborted";
  }
  if (fault.latencyMs !== undefined && fault.latencyMs > 0) {
    if (!(await pause(fault.latencyMs, signal))) return "aborted";
  }
  if (fault.redirectTo !== undefined) {
    writeHead(res, 302, { location: fault.redirectTo, "content-length": 0 });
    res.end();
    return "answered";
  }
  if (fault.errorStatus !== undefined) {
    sendError(res, faultError(fault, fault.errorStatus));
    return "answered";
  }
  return "continue";
}

function faultError(fault: FaultConfig, status: number): ApiError {
  const headers: Record<string, string> = {};
  // 429 always carries Retry-After, as upstream does; an explicit "" suppresses it for tests
  // of clients that must cope without one.
  const retryAfter =
    fault.retryAfter ?? (status === 429 && fault.retryAfterMs === undefined ? "1" : undefined);
  if (retryAfter) headers["retry-after"] = retryAfter;
  if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
  const reason =
    status === 429 ? "rate limited" : status >= 500 ? "upstream unavailable" : "request failed";
  return new ApiError(
    status,
    ErrorCode.injectedFault,
    `${reason} (injected fault, HTTP ${status})`,
    undefined,
    headers,
  );
}
