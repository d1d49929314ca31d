/**
 * A bench's settings: `BENCH_<NAME>` in the environment, or `--<name>=value` on the command
 * line (which wins), validated by the bench's zod schema. Flags are parsed by node:util's
 * parseArgs in strict mode, so a mistyped flag stops the bench instead of being ignored; a bare
 * `--flag` means `--flag=true`.
 */

import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";

/** A mistake in how the bench was asked to run: reported as one line, without a stack. */
export class SettingsError extends Error {
  override name = "SettingsError";
}

const toFlag = (key: string) => key.toLowerCase().replaceAll("_", "-");

export function readSettings<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  argv: readonly string[],
): z.infer<z.ZodObject<Shape>> {
  const keys = Object.keys(schema.shape);
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv.map((arg) => (/^--[^=]+$/.test(arg) ? `${arg}=true` : arg)),
      options: Object.fromEntries(keys.map((key) => [toFlag(key), { type: "string" as const }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new SettingsError(
      `${(error as Error).message}; settings: ${keys.map(toFlag).join(", ")}`,
    );
  }
  const raw: Record<string, string> = {};
  for (const key of keys) {
    const value = values[toFlag(key)] ?? process.env[`BENCH_${key}`];
    if (value !== undefined) raw[key] = value as string;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]);
    throw new SettingsError(`--${toFlag(key)} (BENCH_${key}): ${issue.message}`);
  }
  return parsed.data;
}

/** Runs a bench's `main` when its file is the one node was started with. */
export async function runIfMain(url: string, main: (argv: string[]) => Promise<unknown>) {
  if (!process.argv[1] || path.resolve(process.argv[1]) !== fileURLToPath(url)) return;
  try {
    await main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof SettingsError ? `bench: ${error.message}` : error);
    process.exitCode = 1;
  }
}

/** An integer setting within bounds (given as a string by the environment or a flag). */
export const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `1000,5000` → [1000, 5000]. */
export const numberList = (list: string) => list.split(",").map(Number);
