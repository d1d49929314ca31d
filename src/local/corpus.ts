/**
 * Loading a corpus folder into namespaces, instances, documents and chunks.
 *
 * Layout: `<corpus>/<namespace>/<instance>/**\/*.{md,txt}`, with optional
 * `<namespace>/namespace.json` and `<namespace>/<instance>/instance.json`. Everything that is
 * not explicitly configured gets a fixed default, so two machines loading the same checkout
 * expose identical namespaces and instances (file mtimes only feed `item.timestamp` and
 * `last_activity`, which describe the content, never its ordering).
 */

import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { CustomMetadataType, FusionMethod, KeywordMatchMode } from "../upstream/types.ts";
import { type ChunkSpan, chunkText, validateChunkingSettings } from "./chunking.ts";

export const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_CREATED_AT = "2026-01-01T00:00:00.000Z";
const INDEXED_EXTENSIONS = new Set(["md", "txt"]);
// Larger files are almost certainly not hand-written prose; indexing them would only slow startup.
const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** `<repo>/corpus`, resolved from this module so it works from any working directory. */
export function defaultCorpusDir(): string {
  return fileURLToPath(new URL("../../corpus", import.meta.url));
}

export type MetadataValue = string | number | boolean;

export interface CorpusDocument {
  /** Path relative to the instance folder, `/`-separated. */
  key: string;
  /** File content without front matter; chunk offsets point into it. */
  body: string;
  sizeBytes: number;
  /** File mtime in whole seconds. */
  timestamp: number;
  metadata: Record<string, MetadataValue>;
  chunks: CorpusChunk[];
}

export interface CorpusChunk extends ChunkSpan {
  id: string;
  namespace: string;
  instanceId: string;
  document: CorpusDocument;
}

const instanceSettingsFile = z.strictObject({
  chunk_size: z.number().int().min(1).max(8192).optional(),
  chunk_overlap: z.number().int().min(0).optional(),
  created_at: z.iso.datetime().optional(),
  modified_at: z.iso.datetime().optional(),
  max_num_results: z.number().int().min(1).max(50).optional(),
  score_threshold: z.number().min(0).max(1).optional(),
  fusion_method: z.enum(["max", "rrf"]).optional(),
  retrieval_options: z
    .strictObject({ keyword_match_mode: z.enum(["and", "or"]).optional() })
    .optional(),
});

const namespaceSettingsFile = z.strictObject({
  description: z.string().max(256).nullable().optional(),
  created_at: z.iso.datetime().optional(),
});

export interface InstanceSettings {
  chunkSize: number;
  chunkOverlap: number;
  createdAt: string;
  modifiedAt: string;
  maxNumResults: number;
  scoreThreshold: number;
  fusionMethod: FusionMethod;
  /** Used when a request does not say; see retrieval.ts for why the local default is "or". */
  keywordMatchMode: KeywordMatchMode;
}

export const DEFAULT_INSTANCE_SETTINGS: InstanceSettings = {
  chunkSize: 256,
  chunkOverlap: 32,
  createdAt: DEFAULT_CREATED_AT,
  modifiedAt: DEFAULT_CREATED_AT,
  maxNumResults: 10,
  scoreThreshold: 0,
  fusionMethod: "rrf",
  keywordMatchMode: "or",
};

export interface CorpusInstance {
  id: string;
  namespace: string;
  settings: InstanceSettings;
  documents: CorpusDocument[];
  chunks: CorpusChunk[];
  /** Files present but not indexed (unsupported extension or too large). */
  skippedFiles: number;
  /** Latest file mtime in ms, undefined for an empty instance. */
  lastActivityMs: number | undefined;
  metadataFields: { field_name: string; data_type: CustomMetadataType }[];
}

export interface CorpusNamespace {
  name: string;
  description: string | null;
  createdAt: string;
  instances: Map<string, CorpusInstance>;
}

export interface Corpus {
  dir: string;
  namespaces: Map<string, CorpusNamespace>;
}

export interface LoadCorpusOptions {
  onWarning?: (message: string) => void;
}

export async function loadCorpus(dir: string, options: LoadCorpusOptions = {}): Promise<Corpus> {
  const warn =
    options.onWarning ?? ((message: string) => console.warn(`[local-ai-search] ${message}`));
  const root = path.resolve(dir);
  const rootStat = await stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new Error(`corpus directory ${root} does not exist or is not a directory`);
  }

  const namespaces = new Map<string, CorpusNamespace>();
  for (const name of await subdirectories(root)) {
    if (!SLUG.test(name)) {
      warn(`skipping folder "${name}": namespace names must match ${SLUG}`);
      continue;
    }
    namespaces.set(name, await loadNamespace(path.join(root, name), name, warn));
  }
  // Upstream every account has a reserved `default` namespace; keep that invariant locally.
  if (!namespaces.has("default")) {
    namespaces.set("default", {
      name: "default",
      description: null,
      createdAt: DEFAULT_CREATED_AT,
      instances: new Map(),
    });
  }
  return { dir: root, namespaces };
}

async function loadNamespace(
  dir: string,
  name: string,
  warn: (message: string) => void,
): Promise<CorpusNamespace> {
  const file = await readSettings(path.join(dir, "namespace.json"), namespaceSettingsFile, warn);
  const instances = new Map<string, CorpusInstance>();
  for (const id of await subdirectories(dir)) {
    if (!SLUG.test(id)) {
      warn(`skipping folder "${name}/${id}": instance ids must match ${SLUG}`);
      continue;
    }
    instances.set(id, await loadInstance(path.join(dir, id), name, id, warn));
  }
  return {
    name,
    description: file?.description ?? null,
    createdAt: normaliseDate(file?.created_at) ?? DEFAULT_CREATED_AT,
    instances,
  };
}

async function loadInstance(
  dir: string,
  namespace: string,
  id: string,
  warn: (message: string) => void,
): Promise<CorpusInstance> {
  const settings = await instanceSettings(dir, `${namespace}/${id}`, warn);
  const documents: CorpusDocument[] = [];
  const chunks: CorpusChunk[] = [];
  let skippedFiles = 0;
  let lastActivityMs: number | undefined;

  for (const key of await filesBelow(dir)) {
    if (key === "instance.json") continue;
    const extension = path.posix.extname(key).slice(1).toLowerCase();
    const info = await stat(path.join(dir, key));
    if (!INDEXED_EXTENSIONS.has(extension) || info.size > MAX_FILE_BYTES) {
      skippedFiles += 1;
      continue;
    }
    const raw = await readFile(path.join(dir, key), "utf8");
    const { frontMatter, body } = splitFrontMatter(raw);
    const document: CorpusDocument = {
      key,
      body,
      sizeBytes: info.size,
      timestamp: Math.floor(info.mtimeMs / 1000),
      metadata: {
        ...frontMatter,
        folder: folderOf(key),
        extension,
        title: stringValue(frontMatter.title) ?? firstHeading(body) ?? fileStem(key),
      },
      chunks: [],
    };
    for (const span of chunkText(body, settings)) {
      const chunk: CorpusChunk = {
        ...span,
        id: chunkId(namespace, id, key, span.index),
        namespace,
        instanceId: id,
        document,
      };
      document.chunks.push(chunk);
      chunks.push(chunk);
    }
    documents.push(document);
    lastActivityMs = Math.max(lastActivityMs ?? 0, info.mtimeMs);
  }

  return {
    id,
    namespace,
    settings,
    documents,
    chunks,
    skippedFiles,
    lastActivityMs,
    metadataFields: metadataFieldsOf(documents),
  };
}

async function instanceSettings(
  dir: string,
  label: string,
  warn: (message: string) => void,
): Promise<InstanceSettings> {
  const file = await readSettings(path.join(dir, "instance.json"), instanceSettingsFile, warn);
  const defaults = DEFAULT_INSTANCE_SETTINGS;
  const createdAt = normaliseDate(file?.created_at) ?? defaults.createdAt;
  const settings: InstanceSettings = {
    chunkSize: file?.chunk_size ?? defaults.chunkSize,
    chunkOverlap: file?.chunk_overlap ?? defaults.chunkOverlap,
    createdAt,
    modifiedAt: normaliseDate(file?.modified_at) ?? createdAt,
    maxNumResults: file?.max_num_results ?? defaults.maxNumResults,
    scoreThreshold: file?.score_threshold ?? defaults.scoreThreshold,
    fusionMethod: file?.fusion_method ?? defaults.fusionMethod,
    keywordMatchMode: file?.retrieval_options?.keyword_match_mode ?? defaults.keywordMatchMode,
  };
  try {
    validateChunkingSettings(settings);
  } catch (error) {
    warn(`${label}/instance.json: ${(error as Error).message}; using default chunking`);
    settings.chunkSize = defaults.chunkSize;
    settings.chunkOverlap = Math.min(defaults.chunkOverlap, defaults.chunkSize - 1);
  }
  return settings;
}

async function readSettings<T>(
  file: string,
  schema: z.ZodType<T>,
  warn: (message: string) => void,
): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    warn(`${file}: not valid JSON (${(error as Error).message}); using defaults`);
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    warn(`${file}: ${issue?.path.join(".") || "(root)"}: ${issue?.message}; using defaults`);
    return undefined;
  }
  return parsed.data;
}

async function subdirectories(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith("."))
    .map((entry) => entry.name)
    .sort();
}

/** Regular files below `dir` as sorted `/`-separated relative paths; dot-entries are ignored. */
async function filesBelow(dir: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const key = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) keys.push(...(await filesBelow(path.join(dir, entry.name), key)));
    else if (entry.isFile()) keys.push(key);
  }
  return keys.sort();
}

/**
 * Minimal `---` front matter: one `key: value` per line, values become numbers or booleans
 * when they look like one. It exists so a corpus can carry filterable metadata without a YAML
 * dependency.
 */
export function splitFrontMatter(raw: string): {
  frontMatter: Record<string, MetadataValue>;
  body: string;
} {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(raw);
  if (!match) return { frontMatter: {}, body: raw };
  const frontMatter: Record<string, MetadataValue> = {};
  for (const line of match[1]!.split(/\r?\n/)) {
    const field = /^([A-Za-z_][\w-]*)\s*:\s*(.*)$/.exec(line.trim());
    if (field) frontMatter[field[1]!] = parseScalar(field[2]!);
  }
  return { frontMatter, body: raw.slice(match[0].length) };
}

function parseScalar(text: string): MetadataValue {
  const value = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === "true" || value === "false") return value === "true";
  return value.replace(/^(["'])(.*)\1$/, "$2");
}

function firstHeading(body: string): string | undefined {
  return /^#{1,6}\s+(.+?)\s*#*\s*$/m.exec(body)?.[1];
}

/** Upstream convention: the folder of an item with a trailing slash, "" at the root. */
function folderOf(key: string): string {
  const folder = path.posix.dirname(key);
  return folder === "." ? "" : `${folder}/`;
}

function fileStem(key: string): string {
  return path.posix.basename(key, path.posix.extname(key));
}

function stringValue(value: MetadataValue | undefined): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function normaliseDate(value: string | undefined): string | undefined {
  return value === undefined ? undefined : new Date(value).toISOString();
}

function chunkId(namespace: string, instance: string, key: string, index: number): string {
  return createHash("sha256")
    .update(`${namespace}/${instance}/${key}#${index}`)
    .digest("hex")
    .slice(0, 32);
}

function metadataFieldsOf(documents: CorpusDocument[]): CorpusInstance["metadataFields"] {
  const types = new Map<string, CustomMetadataType>();
  for (const document of documents) {
    for (const [field, value] of Object.entries(document.metadata)) {
      const type: CustomMetadataType =
        typeof value === "string" ? "text" : (typeof value as "number" | "boolean");
      // A field with mixed types across documents is only safely usable as text.
      types.set(field, types.has(field) && types.get(field) !== type ? "text" : type);
    }
  }
  return [...types.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([field_name, data_type]) => ({ field_name, data_type }));
}
