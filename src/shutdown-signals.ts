/**
 * How the entry points (`main.ts`, `local/main.ts`) answer SIGINT and SIGTERM: the first starts
 * a graceful stop and the process exits 0 once it is done (1 if it fails or overruns its
 * backstop); a second exits 1 at once, because that is the operator declining to wait.
 */
import { isatty } from "node:tty";

export type SignalNotice = "stopping" | "repeat-ignored" | "forced" | "overdue" | "failed";

export interface ShutdownSignalOptions {
  /** The graceful stop, flushing what must be flushed; the process exits once it settles. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** After the first signal, exit 1 if `stop` has not settled by then. */
  backstopMs: number;
  /** Tells the operator what is happening, in the entry's own words and format. */
  notify(notice: SignalNotice, details: { signal: NodeJS.Signals; error?: unknown }): void;
  /**
   * Let one repeat of the first signal through without exiting at once.
   * @default `forwardedTwice()`
   */
  expectRepeat?: boolean;
}

/**
 * npm forwards the SIGINT and SIGTERM it receives to the script it runs, and a Ctrl-C at a
 * terminal reaches that script directly as well: under `npm start` in a terminal, one Ctrl-C is
 * two SIGINTs, and the second must not cut the drain short. (A supervisor signals one process:
 * npm, which forwards it once, or `node dist/main.js` itself.)
 */
export function forwardedTwice(): boolean {
  return process.env.npm_lifecycle_event !== undefined && isatty(0);
}

export function stopOnSignals(options: ShutdownSignalOptions): void {
  const { stop, backstopMs, notify } = options;
  let first: NodeJS.Signals | undefined;
  let repeatAllowed = options.expectRepeat ?? forwardedTwice();
  const onSignal = (signal: NodeJS.Signals) => {
    if (first === undefined) {
      first = signal;
      notify("stopping", { signal });
      // For a stop that hangs past its own deadline; unref'd, so a clean exit never waits for it.
      setTimeout(() => {
        notify("overdue", { signal });
        process.exit(1);
      }, backstopMs).unref();
      stop(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          notify("failed", { signal, error });
          process.exit(1);
        },
      );
      return;
    }
    if (repeatAllowed && signal === first) {
      repeatAllowed = false;
      notify("repeat-ignored", { signal });
      return;
    }
    notify("forced", { signal });
    process.exit(1);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
