import { parseArgs } from "node:util";
import { z } from "zod";
// env.ts only: the embedded local AI Search itself (src/local/server.ts and everything it
// serves with) is imported by the app only when it is the upstream.
import { DEFAULT_STREAM_DELAY_MS, embeddedLocalVariables } from "./local/env.ts";
import type { StreamLimits } from "./streams/relay.ts";
import type { ResumeSettings } from "./streams/resumable-stream.ts";

/**
 * Gateway configuration, read from the environment (and `--flag=value` CLI arguments, which win).
 * Validated once at start-up so a typo stops the process with one readable line instead of
 * surfacing as a confusing failure on the first request.
 */

const port = z.coerce.number().int().min(0).max(65_535);
const flag = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"])
  .transform((v) => ["true", "1", "yes", "on"].includes(v));

const positive = z.coerce.number().int().positive();
const LOOPBACK_URL = /^http:\/\/(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d+)?(\/|$)/;
/** A credential sent as one header value: visible ASCII, no spaces or separators a header could split on. */
const secret = z
  .string()
  .regex(/^[\x21-\x7e]{1,1024}$/, "must be 1-1024 visible ASCII characters, no spaces");
/** Comma-separated values, e.g. `CORS_ORIGINS=https://a.example,https://b.example`. */
const list = z.string().transform((v) =>
  v
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== ""),
);

const apiKeys = list.refine(
  (keys) => keys.every((key) => /^[\x21-\x7e]{16,512}$/.test(key)),
  "each key must be 16 to 512 visible ASCII characters",
);

const environment = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: port.default(4000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_BUFFER_BYTES: positive.default(4_194_304),
  CLOUDFLARE_API_BASE_URL: z
    .url({ protocol: /^https?$/ })
    // The token travels with every call; plain HTTP is only for an upstream on this machine.
    .refine((url) => url.startsWith("https:") || LOOPBACK_URL.test(url), {
      message: "must be https (plain http only for a loopback address)",
    })
    .default("https://api.cloudflare.com/client/v4"),
  CLOUDFLARE_ACCOUNT_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a Cloudflare account id (letters, digits, - and _)")
    .optional(),
  CLOUDFLARE_API_TOKEN: secret.optional(),
  CLOUDFLARE_API_EMAIL: z.email().optional(),
  CLOUDFLARE_API_KEY: secret.optional(),
  ...embeddedLocalVariables,
  GRAPHIQL: flag.optional(),
  CHAT_PAGE: flag.optional(),
  // Security (defaults depend on NODE_ENV; see `loadConfig`).
  AUTH_REQUIRED: flag.optional(),
  AUTH_API_KEYS: apiKeys.optional(),
  // Keys with the `admin` scope too (management mutations); see src/server/policy/scopes.ts.
  AUTH_ADMIN_API_KEYS: apiKeys.optional(),
  // Keys of trusted supergraph routers (README, Federation); the same rules as client keys.
  AUTH_ROUTER_API_KEYS: apiKeys.optional(),
  AUTH_JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  PASS_THROUGH_CREDENTIALS: flag.default(false),
  PASS_THROUGH_HEADER: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/, "must be a lower-case header name")
    .default("x-cloudflare-api-token"),
  INTROSPECTION: flag.optional(),
  TRUSTED_DOCUMENTS: z.enum(["off", "log", "enforce"]).default("off"),
  // Matched exactly against the `Origin` header, so only the canonical `scheme://host[:port]`
  // form can ever match; `*` and `null` are refused rather than meaning "any" or opaque origins.
  CORS_ORIGINS: list
    .refine(
      (origins) =>
        origins.every((origin) => URL.canParse(origin) && new URL(origin).origin === origin),
      "each origin must look like https://app.example (scheme, lower-case host, optional port, no path)",
    )
    .optional(),
  LIMIT_DEPTH: positive.default(6),
  LIMIT_ALIASES: positive.default(15),
  LIMIT_DIRECTIVES: positive.default(50),
  LIMIT_TOKENS: positive.default(1000),
  LIMIT_COST: positive.default(5000),
  MAX_BODY_BYTES: positive.default(1_048_576),
  // A 4 MiB file (Cloudflare's item limit) plus room for the operation and the part headers.
  MAX_UPLOAD_BYTES: positive.default(4_259_840),
  MAX_UPLOAD_FILES: positive.default(5),
  MAX_HEADER_BYTES: positive.default(16_384),
  MAX_HEADERS: positive.default(100),
  WS_MAX_PAYLOAD_BYTES: positive.default(1_048_576),
  WS_CONNECTION_INIT_TIMEOUT_MS: positive.default(3000),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: positive.default(10),
  MAX_SUBSCRIPTIONS_PER_CLIENT: positive.default(20),
  MAX_CONNECTIONS_PER_CLIENT: positive.default(20),
  RATE_LIMIT_PER_MINUTE: positive.default(600),
  STREAM_MAX_CHARS: positive.default(200_000),
  STREAM_MAX_DURATION_MS: positive.default(300_000),
  STREAM_RESUME_GRACE_MS: z.coerce.number().int().min(100).default(15_000),
  STREAM_RESUME_TTL_MS: z.coerce.number().int().min(100).default(300_000),
  // Shared state across replicas (Redis); unset: every limit and stream lives in this process.
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/, "must be 1-64 visible ASCII characters, no spaces")
    .default("aisearch-gateway:"),
  // Indexing progress subscriptions poll the upstream, backing off while nothing changes.
  PROGRESS_POLL_INTERVAL_MS: positive.default(2_000),
  PROGRESS_POLL_MAX_INTERVAL_MS: positive.default(30_000),
  // Resilience
  SHUTDOWN_TIMEOUT_MS: positive.default(10_000),
  CIRCUIT_FAILURE_THRESHOLD: positive.default(5),
  CIRCUIT_OPEN_MS: positive.default(10_000),
  UPSTREAM_CONNECT_TIMEOUT_MS: positive.default(10_000),
  UPSTREAM_HEADERS_TIMEOUT_MS: positive.default(60_000),
  UPSTREAM_IDLE_TIMEOUT_MS: positive.default(30_000),
  UPSTREAM_DEADLINE_MS: positive.default(60_000),
  UPSTREAM_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  // Observability
  METRICS: flag.default(true),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
});

export type Environment = z.infer<typeof environment>;

export type UpstreamConfig =
  | {
      kind: "cloudflare";
      baseUrl: string;
      accountId: string;
      credentials: { kind: "token"; token: string } | { kind: "key"; email: string; key: string };
    }
  | {
      kind: "local";
      corpusDir?: string;
      streamDelayMs: number;
      /** Where content written through the API is kept; unset: `defaultDataDir()`. */
      dataDir?: string;
    };

export interface SecurityConfig {
  /** Callers must present an API key or a JWT. */
  authRequired: boolean;
  apiKeys: string[];
  /** Keys that also have the `admin` scope. */
  adminApiKeys: string[];
  /** Keys of trusted routers (`x-router-key`), which may name the end user they call for. */
  routerApiKeys: string[];
  jwt?: { secret?: string; jwksUrl?: string; issuer?: string; audience?: string };
  /** Use the caller's own Cloudflare token (from `passThroughHeader`) for its upstream calls. */
  passThroughCredentials: boolean;
  passThroughHeader: string;
  introspection: boolean;
  trustedDocuments: "off" | "log" | "enforce";
  /** Origins allowed by CORS; empty means no cross-origin browser access. */
  corsOrigins: string[];
}

export interface LimitsConfig {
  depth: number;
  aliases: number;
  directives: number;
  tokens: number;
  cost: number;
  maxBodyBytes: number;
  maxHeaderBytes: number;
  maxHeaders: number;
  /** Largest multipart (upload) request body, counted as it streams. */
  maxUploadBytes: number;
  /** Most files in one multipart request. */
  maxUploadFiles: number;
  wsMaxPayloadBytes: number;
  /** How long a graphql-ws client may take to send `connection_init`. */
  wsConnectionInitTimeoutMs: number;
  maxSubscriptionsPerConnection: number;
  maxSubscriptionsPerClient: number;
  /** Acknowledged graphql-ws connections per client identity. */
  maxConnectionsPerClient: number;
  rateLimitPerMinute: number;
  /** A streamed answer is cut off past these, so a runaway upstream cannot hold a subscriber. */
  stream: StreamLimits;
  /** How long a dropped stream waits for a resume, and a finished one stays resumable. */
  resume: ResumeSettings;
}

export interface GatewayConfig {
  env: Environment["NODE_ENV"];
  host: string;
  port: number;
  logLevel: Environment["LOG_LEVEL"];
  /** Log output held in memory while stdout is not being read; past it, lines are dropped. */
  logBufferBytes: number;
  graphiql: boolean;
  /** Serve the chat page (`web/dist`) at `/`. */
  chatPage: boolean;
  upstream: UpstreamConfig;
  security: SecurityConfig;
  limits: LimitsConfig;
  shutdownTimeoutMs: number;
  /** How `instanceIndexingProgress` polls: from `intervalMs`, doubling to `maxIntervalMs` while idle. */
  progress: { intervalMs: number; maxIntervalMs: number };
  circuit: { failureThreshold: number; openMs: number };
  /** How the gateway calls the upstream; see src/upstream/options.ts for what each bounds. */
  upstreamCalls: {
    timeouts: { connectMs: number; headersMs: number; idleMs: number; deadlineMs: number };
    maxRetries: number;
  };
  metrics: boolean;
  otlpEndpoint?: string;
  /** Where replicas share rate limits, caps and resumable streams; unset: in process. */
  redis?: { url: string; keyPrefix: string };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * `--port=4001` → `PORT=4001`, so every setting has one name and one validation rule; a bare
 * `--graphiql` means `true`. With `names`, a flag naming none of them stops start-up, so a typo
 * such as `--prot=4001` cannot quietly leave the default in place.
 */
export function flagsToEnvironment(
  argv: readonly string[],
  names?: readonly string[],
): Record<string, string> {
  const known = names && new Set(names);
  // Not strict: unknown names and stray values are reported below, in this project's words.
  const { tokens } = parseArgs({
    args: [...argv],
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const out: Record<string, string> = {};
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      throw new ConfigError(
        `unexpected argument "${token.value}" (a flag takes its value after "=", as in --port=4001)`,
      );
    }
    const name = token.name.replaceAll("-", "_").toUpperCase();
    if (!/^--[a-z][a-z0-9-]*$/.test(token.rawName) || (known && !known.has(name))) {
      throw new ConfigError(
        `unknown flag ${token.rawName} (each variable is a flag: PORT is --port=4001)`,
      );
    }
    out[name] = token.value ?? "true";
  }
  return out;
}

/** Every setting's name, each also a `--flag`. */
export const SETTING_NAMES: readonly string[] = Object.keys(environment.shape);

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  argv: readonly string[] = [],
): GatewayConfig {
  const merged = { ...env, ...flagsToEnvironment(argv, SETTING_NAMES) };
  // Empty strings come from `FOO= npm start`; treat them as unset rather than as invalid values.
  const input = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== ""));
  const parsed = environment.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid ${issue.path.join(".") || "configuration"}: ${issue.message}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";
  if (
    (e.AUTH_REQUIRED ?? production) &&
    !e.AUTH_API_KEYS?.length &&
    !e.AUTH_ADMIN_API_KEYS?.length &&
    !e.AUTH_ROUTER_API_KEYS?.length &&
    !e.AUTH_JWT_SECRET &&
    !e.AUTH_JWKS_URL
  ) {
    throw new ConfigError(
      "client authentication is required (the production default, or AUTH_REQUIRED=true): set AUTH_API_KEYS, AUTH_ADMIN_API_KEYS, AUTH_ROUTER_API_KEYS, AUTH_JWT_SECRET or AUTH_JWKS_URL (or AUTH_REQUIRED=false)",
    );
  }
  const admin = new Set(e.AUTH_ADMIN_API_KEYS ?? []);
  if (e.AUTH_API_KEYS?.some((key) => admin.has(key))) {
    throw new ConfigError("invalid AUTH_ADMIN_API_KEYS: a key cannot also be in AUTH_API_KEYS");
  }
  if (e.PROGRESS_POLL_MAX_INTERVAL_MS < e.PROGRESS_POLL_INTERVAL_MS) {
    throw new ConfigError(
      "invalid PROGRESS_POLL_MAX_INTERVAL_MS: must be at least PROGRESS_POLL_INTERVAL_MS",
    );
  }
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    logBufferBytes: e.LOG_BUFFER_BYTES,
    graphiql: e.GRAPHIQL ?? !production,
    chatPage: e.CHAT_PAGE ?? !production,
    upstream: upstreamFrom(e),
    security: {
      authRequired: e.AUTH_REQUIRED ?? production,
      apiKeys: e.AUTH_API_KEYS ?? [],
      adminApiKeys: e.AUTH_ADMIN_API_KEYS ?? [],
      routerApiKeys: e.AUTH_ROUTER_API_KEYS ?? [],
      jwt:
        e.AUTH_JWT_SECRET || e.AUTH_JWKS_URL
          ? {
              secret: e.AUTH_JWT_SECRET,
              jwksUrl: e.AUTH_JWKS_URL,
              issuer: e.AUTH_JWT_ISSUER,
              audience: e.AUTH_JWT_AUDIENCE,
            }
          : undefined,
      passThroughCredentials: e.PASS_THROUGH_CREDENTIALS,
      passThroughHeader: e.PASS_THROUGH_HEADER,
      introspection: e.INTROSPECTION ?? !production,
      trustedDocuments: e.TRUSTED_DOCUMENTS,
      corsOrigins: e.CORS_ORIGINS ?? [],
    },
    limits: {
      depth: e.LIMIT_DEPTH,
      aliases: e.LIMIT_ALIASES,
      directives: e.LIMIT_DIRECTIVES,
      tokens: e.LIMIT_TOKENS,
      cost: e.LIMIT_COST,
      maxBodyBytes: e.MAX_BODY_BYTES,
      maxHeaderBytes: e.MAX_HEADER_BYTES,
      maxHeaders: e.MAX_HEADERS,
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      maxUploadFiles: e.MAX_UPLOAD_FILES,
      wsMaxPayloadBytes: e.WS_MAX_PAYLOAD_BYTES,
      wsConnectionInitTimeoutMs: e.WS_CONNECTION_INIT_TIMEOUT_MS,
      maxSubscriptionsPerConnection: e.MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxSubscriptionsPerClient: e.MAX_SUBSCRIPTIONS_PER_CLIENT,
      maxConnectionsPerClient: e.MAX_CONNECTIONS_PER_CLIENT,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      stream: { maxChars: e.STREAM_MAX_CHARS, maxDurationMs: e.STREAM_MAX_DURATION_MS },
      resume: { graceMs: e.STREAM_RESUME_GRACE_MS, ttlMs: e.STREAM_RESUME_TTL_MS },
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    progress: {
      intervalMs: e.PROGRESS_POLL_INTERVAL_MS,
      maxIntervalMs: e.PROGRESS_POLL_MAX_INTERVAL_MS,
    },
    circuit: { failureThreshold: e.CIRCUIT_FAILURE_THRESHOLD, openMs: e.CIRCUIT_OPEN_MS },
    upstreamCalls: {
      timeouts: {
        connectMs: e.UPSTREAM_CONNECT_TIMEOUT_MS,
        headersMs: e.UPSTREAM_HEADERS_TIMEOUT_MS,
        idleMs: e.UPSTREAM_IDLE_TIMEOUT_MS,
        deadlineMs: e.UPSTREAM_DEADLINE_MS,
      },
      maxRetries: e.UPSTREAM_MAX_RETRIES,
    },
    metrics: e.METRICS,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    redis: e.REDIS_URL ? { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX } : undefined,
  };
}

function upstreamFrom(e: Environment): UpstreamConfig {
  const hasToken = e.CLOUDFLARE_API_TOKEN !== undefined;
  const hasKey = e.CLOUDFLARE_API_EMAIL !== undefined || e.CLOUDFLARE_API_KEY !== undefined;
  if (!hasToken && !hasKey) {
    return {
      kind: "local",
      corpusDir: e.LOCAL_CORPUS_DIR,
      streamDelayMs: e.LOCAL_STREAM_DELAY_MS ?? DEFAULT_STREAM_DELAY_MS,
      dataDir: e.LOCAL_DATA_DIR,
    };
  }
  if (!e.CLOUDFLARE_ACCOUNT_ID) {
    throw new ConfigError("CLOUDFLARE_ACCOUNT_ID is required when Cloudflare credentials are set");
  }
  if (hasToken) {
    return {
      kind: "cloudflare",
      baseUrl: e.CLOUDFLARE_API_BASE_URL,
      accountId: e.CLOUDFLARE_ACCOUNT_ID,
      credentials: { kind: "token", token: e.CLOUDFLARE_API_TOKEN! },
    };
  }
  if (!e.CLOUDFLARE_API_EMAIL || !e.CLOUDFLARE_API_KEY) {
    throw new ConfigError("CLOUDFLARE_API_EMAIL and CLOUDFLARE_API_KEY must be set together");
  }
  return {
    kind: "cloudflare",
    baseUrl: e.CLOUDFLARE_API_BASE_URL,
    accountId: e.CLOUDFLARE_ACCOUNT_ID,
    credentials: { kind: "key", email: e.CLOUDFLARE_API_EMAIL, key: e.CLOUDFLARE_API_KEY },
  };
}
