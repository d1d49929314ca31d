/**
 * Debian's Chromium, driven by playwright-core (which downloads no browser). Locally a machine
 * without it skips the browser tests with one line; in CI (`CI` set) a missing browser fails
 * the run instead, so the tests can never be skipped there by accident.
 */

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Whether the browser tests can run here; throws in CI when they cannot. */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) {
    throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium package`);
  }
  process.stderr.write(
    `browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)\n`,
  );
  return false;
}

/**
 * Without the background-networking flags Chromium keeps trying to reach Google's services,
 * which this machine's closed network refuses; a fresh profile keeps runs independent.
 */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const profile = await mkdtemp(path.join(tmpdir(), "chat-page-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
