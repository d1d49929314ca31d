import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, vi } from "vitest";
import {
  type LocalAiSearch,
  type LocalAiSearchOptions,
  startLocalAiSearch,
} from "../../src/local/server.ts";
import type { Item, ItemStatus } from "../../src/upstream/management-types.ts";
import type { Chunk, Envelope } from "../../src/upstream/types.ts";

export const ACCOUNT = "test-account";
export const AUTH = { authorization: "Bearer test-token" };

/** Writes `files` (relative path → content) under a fresh temp dir and returns its path. */
export async function tempCorpus(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "local-ai-search-"));
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(dir, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  return dir;
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

export function apiPath(rest: string): string {
  return `/accounts/${ACCOUNT}/ai-search${rest}`;
}

export async function call(
  baseUrl: string,
  rest: string,
  init: {
    method?: string;
    body?: unknown;
    headers?: Record<string, string>;
    signal?: AbortSignal;
  } = {},
): Promise<Response> {
  const body =
    init.body === undefined
      ? undefined
      : typeof init.body === "string"
        ? init.body
        : JSON.stringify(init.body);
  return fetch(`${baseUrl}${apiPath(rest)}`, {
    method: init.method ?? (body === undefined ? "GET" : "POST"),
    headers: { ...AUTH, "content-type": "application/json", ...init.headers },
    body: body ?? null,
    signal: init.signal ?? null,
    redirect: "manual",
  });
}

export async function callJson<T = unknown>(
  baseUrl: string,
  rest: string,
  init: Parameters<typeof call>[2] = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const response = await call(baseUrl, rest, init);
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

export async function result<T>(
  baseUrl: string,
  rest: string,
  init: Parameters<typeof call>[2] = {},
): Promise<T> {
  const { status, body } = await callJson<Envelope<T>>(baseUrl, rest, init);
  if (status !== 200 || !body.success)
    throw new Error(`unexpected ${status}: ${JSON.stringify(body)}`);
  return body.result;
}

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Parses a complete SSE body; comments are returned as events named ":" for assertions. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (block.trim() === "") continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) events.push({ event: ":", data: line.slice(1).trim() });
      else if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length > 0) events.push({ event, data: data.join("\n") });
  }
  return events;
}

/** The text deltas of a parsed stream, concatenated. */
export function streamedText(events: SseEvent[]): string {
  return events
    .filter((e) => e.event === undefined && e.data !== "[DONE]")
    .map((e) => JSON.parse(e.data).choices[0].delta.content ?? "")
    .join("");
}

export function chunksEvent(events: SseEvent[]): Chunk[] {
  const chunks = events.find((e) => e.event === "chunks");
  if (!chunks) throw new Error("no chunks event");
  return JSON.parse(chunks.data);
}

/** Reads a streaming body until `enough(textSoFar)` holds; returns the text read. */
export async function readUntil(
  response: Response,
  enough: (text: string) => boolean,
): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!enough(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before the condition held; got: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

/** A fresh, empty data directory for a test that writes. */
export function tempDataDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "local-ai-search-test-data-"));
}

export interface UploadOptions {
  metadata?: string;
  waitForCompletion?: boolean;
  /** Sent as the file's content type; the key's extension decides what is indexed. */
  type?: string;
}

/** Uploads `content` as `filename` with a real multipart body (undici's FormData). */
export function upload(
  baseUrl: string,
  instancePath: string,
  filename: string,
  content: string | Uint8Array<ArrayBuffer>,
  options: UploadOptions = {},
): Promise<Response> {
  const form = new FormData();
  form.append("file", new Blob([content], { type: options.type ?? "text/markdown" }), filename);
  if (options.metadata !== undefined) form.append("metadata", options.metadata);
  if (options.waitForCompletion !== undefined) {
    form.append("wait_for_completion", String(options.waitForCompletion));
  }
  return fetch(`${baseUrl}${apiPath(`${instancePath}/items`)}`, {
    method: "POST",
    headers: AUTH,
    body: form,
  });
}

/** Uploads and returns the accepted item, failing the test on anything but 200. */
export async function uploadItem(
  baseUrl: string,
  instancePath: string,
  filename: string,
  content: string,
  options: UploadOptions = {},
): Promise<Item> {
  const response = await upload(baseUrl, instancePath, filename, content, options);
  const body = (await response.json()) as Envelope<Item>;
  expect(response.status, JSON.stringify(body.errors)).toBe(200);
  return body.result;
}

/** Polls the item until it has `status`; returns it. */
export async function waitForItem(
  baseUrl: string,
  instancePath: string,
  id: string,
  status: ItemStatus,
): Promise<Item> {
  return vi.waitFor(async () => {
    const item = await result<Item>(baseUrl, `${instancePath}/items/${id}`);
    expect(item.status).toBe(status);
    return item;
  }, WAIT);
}

/** `vi.waitFor` options for conditions a loaded machine may take a while to reach. */
export const WAIT = { timeout: 5_000, interval: 10 };

/** A tiny corpus whose scores and matches are easy to reason about. */
export const SMALL_CORPUS: Record<string, string> = {
  "default/namespace.json": JSON.stringify({
    description: "Small test namespace",
    created_at: "2026-01-01T00:00:00Z",
  }),
  "default/alpha/instance.json": JSON.stringify({
    chunk_size: 40,
    chunk_overlap: 5,
    created_at: "2026-01-02T00:00:00Z",
  }),
  "default/alpha/apples.md":
    "---\naudience: cooks\nlevel: 1\n---\n# Apples\n\nApples grow on trees in orchards. Red apples are sweet and green apples are sour. " +
    "Bakers turn apples into pies and cider makers press them into juice.\n",
  "default/alpha/guides/pears.md":
    "---\naudience: growers\nlevel: 3\n---\n# Pears\n\nPears ripen after picking. Orchards grow pears next to apples because both trees " +
    "like the same soil and climate.\n",
  "default/alpha/notes.txt": "Plain notes about bananas. Bananas are yellow and grow in bunches.\n",
  "default/alpha/image.png": "not really an image",
  "default/beta/instance.json": JSON.stringify({ created_at: "2026-01-03T00:00:00Z" }),
  "default/beta/citrus.md":
    "# Citrus\n\nOranges and lemons are citrus fruit. Orange trees grow in warm orchards and need little frost.\n",
  "default/beta/apples-in-history.md":
    "# Apples in history\n\nApples appear in many old stories. Some orchards are centuries old.\n",
  "default/gamma/instance.json": JSON.stringify({ created_at: "2026-01-04T00:00:00Z" }),
  "default/gamma/empty.md": "",
  "other/namespace.json": JSON.stringify({
    description: "Another namespace about Vegetables",
    created_at: "2026-01-05T00:00:00Z",
  }),
  "other/veg/carrots.md": "# Carrots\n\nCarrots are root vegetables. They grow underground.\n",
  "other/sequence/instance.json": JSON.stringify({ chunk_size: 10, chunk_overlap: 2 }),
  // 30 distinct words, so chunk boundaries and context expansion are easy to predict.
  "other/sequence/numbers.txt": `${Array.from({ length: 30 }, (_, i) => `n${i}`).join(" ")}\n`,
};

/** A local AI Search over a fresh copy of SMALL_CORPUS; `stop` closes it and removes the copy. */
export async function startSmallLocal(
  options: LocalAiSearchOptions = {},
): Promise<{ local: LocalAiSearch; dir: string; stop: () => Promise<void> }> {
  const dir = await tempCorpus(SMALL_CORPUS);
  const local = await startLocalAiSearch({ corpusDir: dir, ...options });
  return {
    local,
    dir,
    async stop() {
      await local.close();
      await removeDir(dir);
    },
  };
}
