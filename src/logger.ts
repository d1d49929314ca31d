import { type DestinationStream, type Logger, pino } from "pino";
import type { GatewayConfig } from "./config.ts";

export type { Logger } from "pino";

/**
 * Keys whose values are credentials wherever they appear. Redaction is a safety net: the
 * gateway's own log lines never carry headers, but an error or a future log call might.
 */
export const SECRET_KEYS = [
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "x-auth-key",
  "x-auth-email",
  "x-cloudflare-api-token",
  "cookie",
  "set-cookie",
  "apiKey",
  "apiToken",
  "token",
  "accessToken",
  "refreshToken",
  "password",
  "secret",
  "credentials",
  "cloudflareApiToken",
];

/** Redaction paths for `keys` at the top level and two levels down (`headers.x`, `req.headers.x`). */
export function redactPaths(keys: readonly string[]): string[] {
  return [...new Set(keys)].flatMap((key) => {
    const plain = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key);
    const step = plain ? `.${key}` : `["${key}"]`;
    return [plain ? key : step, `*${step}`, `*.*${step}`];
  });
}

export interface LoggerOptions {
  /**
   * Where lines go; tests pass a stream to read them back.
   * @default stdout
   */
  destination?: DestinationStream;
  /**
   * Further header or field names to redact, e.g. the pass-through token header when renamed.
   * @default []
   */
  extraSecretKeys?: readonly string[];
}

/**
 * The gateway's JSON logger. Level names rather than numbers and ISO times, because these lines
 * are read by people as often as by log shippers.
 */
export function createLogger(
  config: Pick<GatewayConfig, "logLevel"> & { security?: { passThroughHeader?: string } },
  options: LoggerOptions = {},
): Logger {
  const extra = [...(options.extraSecretKeys ?? [])];
  if (config.security?.passThroughHeader) extra.push(config.security.passThroughHeader);
  return pino(
    {
      level: config.logLevel,
      base: { service: "aisearch-graphql-gateway" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths([...SECRET_KEYS, ...extra]), censor: "[redacted]" },
    },
    options.destination,
  );
}
