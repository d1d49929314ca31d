import { z } from "zod";

/**
 * Gateway configuration, read from the environment (and `--flag=value` CLI arguments, which win).
 * Validated once at start-up so a typo stops the process with one readable line instead of
 * surfacing as a confusing failure on the first request.
 */

const port = z.coerce.number().int().min(0).max(65_535);
const flag = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"])
  .transform((v) => ["true", "1", "yes", "on"].includes(v));

const environment = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: port.default(4000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  CLOUDFLARE_API_BASE_URL: z.url({ protocol: /^https?$/ }).default("https://api.cloudflare.com/client/v4"),
  CLOUDFLARE_ACCOUNT_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a Cloudflare account id (letters, digits, - and _)")
    .optional(),
  CLOUDFLARE_API_TOKEN: z.string().min(1).optional(),
  CLOUDFLARE_API_EMAIL: z.email().optional(),
  CLOUDFLARE_API_KEY: z.string().min(1).optional(),
  LOCAL_CORPUS_DIR: z.string().min(1).optional(),
  LOCAL_STREAM_DELAY_MS: z.coerce.number().int().min(0).max(10_000).default(15),
  GRAPHIQL: flag.optional(),
});

export type Environment = z.infer<typeof environment>;

export type UpstreamConfig =
  | {
      kind: "cloudflare";
      baseUrl: string;
      accountId: string;
      credentials: { kind: "token"; token: string } | { kind: "key"; email: string; key: string };
    }
  | { kind: "local"; corpusDir?: string; streamDelayMs: number };

export interface GatewayConfig {
  env: Environment["NODE_ENV"];
  host: string;
  port: number;
  logLevel: Environment["LOG_LEVEL"];
  graphiql: boolean;
  upstream: UpstreamConfig;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** `--port=4001` → `PORT=4001`, so every setting has one name and one validation rule. */
export function flagsToEnvironment(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of argv) {
    const match = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (!match) throw new ConfigError(`unknown argument "${arg}" (flags look like --port=4001)`);
    out[match[1]!.replaceAll("-", "_").toUpperCase()] = match[2] ?? "true";
  }
  return out;
}

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  argv: readonly string[] = [],
): GatewayConfig {
  const merged = { ...env, ...flagsToEnvironment(argv) };
  // Empty strings come from `FOO= npm start`; treat them as unset rather than as invalid values.
  const input = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== ""));
  const parsed = environment.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid ${issue.path.join(".") || "configuration"}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    graphiql: e.GRAPHIQL ?? e.NODE_ENV !== "production",
    upstream: upstreamFrom(e),
  };
}

function upstreamFrom(e: Environment): UpstreamConfig {
  const hasToken = e.CLOUDFLARE_API_TOKEN !== undefined;
  const hasKey = e.CLOUDFLARE_API_EMAIL !== undefined || e.CLOUDFLARE_API_KEY !== undefined;
  if (!hasToken && !hasKey) {
    return { kind: "local", corpusDir: e.LOCAL_CORPUS_DIR, streamDelayMs: e.LOCAL_STREAM_DELAY_MS };
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
