/**
 * A bench's settings: `BENCH_<NAME>` in the environment, or `--<name>=value` on the command
 * line (which wins), validated by the bench's zod schema. Flags are parsed by node:util's
 * parseArgs in strict mode, so a mistyped flag stops the bench instead of being ignored; a bare
 * `--flag` means `--flag=true`.
 */

import { parseArgs } from "node:util";
import type { z } from "zod";

const toFlag = (key: string) => key.toLowerCase().replaceAll("_", "-");

export function readSettings<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  argv: readonly string[],
): z.infer<z.ZodObject<Shape>> {
  const keys = Object.keys(schema.shape);
  const { values } = parseArgs({
    args: argv.map((arg) => (/^--[^=]+$/.test(arg) ? `${arg}=true` : arg)),
    options: Object.fromEntries(keys.map((key) => [toFlag(key), { type: "string" as const }])),
    strict: true,
    allowPositionals: false,
  });
  const raw: Record<string, string> = {};
  for (const key of keys) {
    const value = values[toFlag(key)] ?? process.env[`BENCH_${key}`];
    if (value !== undefined) raw[key] = value as string;
  }
  return schema.parse(raw);
}

/** `1000,5000` → [1000, 5000]. */
export const numberList = (list: string) =>
  list
    .split(",")
    .filter((part) => part.trim() !== "")
    .map((part) => Number(part));
