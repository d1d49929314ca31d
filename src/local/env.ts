/**
 * Environment configuration of the standalone local AI Search (`npm run local`). Every
 * variable is optional; a value that is present but wrong is an error, never silently ignored.
 */

import { z } from "zod";
import type { FaultConfig } from "./faults.ts";
import type { LocalAiSearchOptions } from "./server.ts";
import { defaultDataDir } from "./store.ts";

export const DEFAULT_LOCAL_PORT = 8787;
/**
 * Between streamed deltas: slow enough to watch an answer arrive, as Cloudflare's does. Here,
 * not in server.ts, so the gateway's configuration can name it without loading the server.
 */
export const DEFAULT_STREAM_DELAY_MS = 15;

/** A configuration mistake, reported as one line without a stack. */
export class EnvError extends Error {}

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

const flag = z
  .string()
  .regex(/^(1|0|true|false|yes|no|on|off)$/i, "must be true or false")
  .transform((value) => /^(1|true|yes|on)$/i.test(value));

const durationOrForever = z.union(
  [z.literal("Infinity").transform(() => Number.POSITIVE_INFINITY), int(0, 86_400_000)],
  {
    error: 'must be a whole number of milliseconds or "Infinity"',
  },
);

/**
 * The settings the gateway's embedded local AI Search reads too (src/config.ts spreads these),
 * so a value means the same, and is refused the same, whichever process reads it.
 */
export const embeddedLocalVariables = {
  LOCAL_CORPUS_DIR: z.string().min(1).optional(),
  LOCAL_DATA_DIR: z.string().min(1).optional(),
  LOCAL_STREAM_DELAY_MS: int(0, 60_000).optional(),
};

const schema = z.object({
  ...embeddedLocalVariables,
  LOCAL_HOST: z.string().min(1).optional(),
  LOCAL_PORT: int(0, 65_535).optional(),
  LOCAL_INDEXING_STEP_MS: int(0, 60_000).optional(),
  LOCAL_SYNC_COOLDOWN_MS: int(0, 86_400_000).optional(),
  LOCAL_API_TOKEN: z.string().regex(/^\S+$/, "must not contain whitespace").optional(),
  LOCAL_LLM_BASE_URL: httpUrl.optional(),
  LOCAL_LLM_MODEL: z.string().min(1).optional(),
  LOCAL_LLM_API_KEY: z.string().min(1).optional(),
  LOCAL_EMBEDDINGS_BASE_URL: httpUrl.optional(),
  LOCAL_EMBEDDINGS_MODEL: z.string().min(1).optional(),
  LOCAL_EMBEDDINGS_API_KEY: z.string().min(1).optional(),
  LOCAL_FAULT_LATENCY_MS: int(0, 600_000).optional(),
  LOCAL_FAULT_STATUS: int(400, 599).optional(),
  LOCAL_FAULT_RETRY_AFTER: z.string().optional(),
  LOCAL_FAULT_RETRY_AFTER_MS: int(0, 600_000).optional(),
  LOCAL_FAULT_STALL_BEFORE_HEADERS_MS: durationOrForever.optional(),
  LOCAL_FAULT_STALL_MID_STREAM_AFTER: int(0, 1_000_000).optional(),
  LOCAL_FAULT_MALFORMED_SSE: flag.optional(),
  LOCAL_FAULT_END_WITHOUT_DONE: flag.optional(),
  LOCAL_FAULT_ENDLESS_STREAM: flag.optional(),
  LOCAL_FAULT_REDIRECT_TO: z.string().min(1).optional(),
  LOCAL_FAULT_MATCH: z.string().min(1).optional(),
  LOCAL_FAULT_TIMES: int(0, 1_000_000).optional(),
});

export type LocalEnvOptions = LocalAiSearchOptions & {
  host: string;
  port: number;
  /** Always set: the standalone server keeps what it is given (default: `defaultDataDir()`). */
  dataDir: string;
};

export function parseLocalEnv(env: Record<string, string | undefined>): LocalEnvOptions {
  // An empty assignment (`LOCAL_PORT=`) means "not set", as shells make that easy to write.
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key.startsWith("LOCAL_") && value !== ""),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "environment");
    throw new EnvError(`${name}=${JSON.stringify(present[name] ?? "")} ${issue.message}`);
  }
  const vars = parsed.data;
  const options: LocalEnvOptions = {
    host: vars.LOCAL_HOST ?? "127.0.0.1",
    port: vars.LOCAL_PORT ?? DEFAULT_LOCAL_PORT,
    dataDir: vars.LOCAL_DATA_DIR ?? defaultDataDir(env),
  };
  if (vars.LOCAL_INDEXING_STEP_MS !== undefined)
    options.indexingStepMs = vars.LOCAL_INDEXING_STEP_MS;
  if (vars.LOCAL_SYNC_COOLDOWN_MS !== undefined)
    options.syncCooldownMs = vars.LOCAL_SYNC_COOLDOWN_MS;
  if (vars.LOCAL_CORPUS_DIR) options.corpusDir = vars.LOCAL_CORPUS_DIR;
  if (vars.LOCAL_API_TOKEN) options.apiToken = vars.LOCAL_API_TOKEN;
  options.streamDelayMs = vars.LOCAL_STREAM_DELAY_MS ?? DEFAULT_STREAM_DELAY_MS;
  const llm = endpoint(
    "LLM",
    vars.LOCAL_LLM_BASE_URL,
    vars.LOCAL_LLM_MODEL,
    vars.LOCAL_LLM_API_KEY,
  );
  if (llm) options.llm = llm;
  const embeddings = endpoint(
    "EMBEDDINGS",
    vars.LOCAL_EMBEDDINGS_BASE_URL,
    vars.LOCAL_EMBEDDINGS_MODEL,
    vars.LOCAL_EMBEDDINGS_API_KEY,
  );
  if (embeddings) options.embeddings = embeddings;

  const faults: FaultConfig = {
    latencyMs: vars.LOCAL_FAULT_LATENCY_MS,
    errorStatus: vars.LOCAL_FAULT_STATUS,
    retryAfter: vars.LOCAL_FAULT_RETRY_AFTER,
    retryAfterMs: vars.LOCAL_FAULT_RETRY_AFTER_MS,
    stallBeforeHeadersMs: vars.LOCAL_FAULT_STALL_BEFORE_HEADERS_MS,
    stallMidStreamAfterDeltas: vars.LOCAL_FAULT_STALL_MID_STREAM_AFTER,
    malformedSse: vars.LOCAL_FAULT_MALFORMED_SSE,
    endWithoutDone: vars.LOCAL_FAULT_END_WITHOUT_DONE,
    endlessStream: vars.LOCAL_FAULT_ENDLESS_STREAM,
    redirectTo: vars.LOCAL_FAULT_REDIRECT_TO,
    match: vars.LOCAL_FAULT_MATCH,
    times: vars.LOCAL_FAULT_TIMES,
  };
  const setFaults = Object.fromEntries(
    Object.entries(faults).filter(([, value]) => value !== undefined),
  );
  // `match` and `times` only scope a fault; on their own they configure nothing.
  const effective = Object.keys(setFaults).filter((key) => key !== "match" && key !== "times");
  if (effective.length > 0) options.faults = setFaults as FaultConfig;
  else if (Object.keys(setFaults).length > 0) {
    throw new EnvError(
      "LOCAL_FAULT_MATCH / LOCAL_FAULT_TIMES need a fault to scope (e.g. LOCAL_FAULT_STATUS)",
    );
  }
  return options;
}

function endpoint(
  kind: "LLM" | "EMBEDDINGS",
  baseUrl: string | undefined,
  model: string | undefined,
  apiKey: string | undefined,
): { baseUrl: string; model: string; apiKey?: string } | undefined {
  if (!baseUrl && !model) {
    if (apiKey)
      throw new EnvError(`LOCAL_${kind}_API_KEY is set but LOCAL_${kind}_BASE_URL is not`);
    return undefined;
  }
  if (!baseUrl || !model) {
    throw new EnvError(`LOCAL_${kind}_BASE_URL and LOCAL_${kind}_MODEL must be set together`);
  }
  return apiKey ? { baseUrl, model, apiKey } : { baseUrl, model };
}
