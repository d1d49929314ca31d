import { Writable } from "node:stream";
import { createLogger } from "../../src/logger.ts";

export type LogLine = Record<string, unknown> & { msg: string; level: string };

/** A logger writing JSON lines to memory, at `level`, for a test to read back. */
export function captureLogs(level: "debug" | "info" = "debug") {
  const text: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      text.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ logLevel: level }, { destination });
  return {
    logger,
    /** Everything written, as is. */
    raw: () => text.join(""),
    lines: (): LogLine[] =>
      text
        .join("")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as LogLine),
  };
}
