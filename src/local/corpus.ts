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
import { validateChunkingSettings } from "./chunking.ts";
import {
  buildDocument,
  type CorpusChunk,
  type CorpusDocument,
  isIndexable,
  MAX_ITEM_BYTES,
  metadataFieldsOf,
} from "./documents.ts";

export type { CorpusChunk, CorpusDocument, MetadataValue } from "./documents.ts";
export { splitFrontMatter } from "./documents.ts";

export const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_CREATED_AT = "2026-01-01T00:00:00.000Z";

/** `<repo>/corpus`, resolved from this module so it works from any working directory. */
export function defaultCorpusDir(): string {
  return fileURLToPath(new URL("../../corpus", import.meta.url));
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

/** One file of an instance folder, indexed or skipped. */
export interface CorpusFile {
  key: string;
  sizeBytes: number;
  mtimeMs: number;
  /** SHA-256 of the bytes, hex; what a sync compares to notice a changed file. */
  checksum: string;
  document?: CorpusDocument;
  /** Why the file is not indexed (Cloudflare's processing error types). */
  skipped?: "unsupported_type" | "over_size";
}

export interface CorpusInstance {
  id: string;
  namespace: string;
  /** The instance folder. */
  dir: string;
  settings: InstanceSettings;
  files: CorpusFile[];
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
  const files: CorpusFile[] = [];
  for (const key of await filesBelow(dir)) {
    if (key === "instance.json") continue;
    files.push(await readCorpusFile(dir, key, namespace, id, settings));
  }
  const documents = files.flatMap((file) => (file.document ? [file.document] : []));
  const modified = files.filter((file) => file.document).map((file) => file.mtimeMs);
  return {
    id,
    namespace,
    dir,
    settings,
    files,
    documents,
    chunks: documents.flatMap((document) => document.chunks),
    skippedFiles: files.length - documents.length,
    lastActivityMs: modified.length > 0 ? Math.max(...modified) : undefined,
    metadataFields: metadataFieldsOf(documents),
  };
}

/**
 * Reads one file of a corpus instance: indexed when it is a supported text type within the
 * item size limit, otherwise recorded as skipped. Chunk ids are seeded by the file's corpus
 * location, so they are the same on every load.
 */
export async function readCorpusFile(
  dir: string,
  key: string,
  namespace: string,
  instanceId: string,
  settings: InstanceSettings,
): Promise<CorpusFile> {
  const file = path.join(dir, key);
  const info = await stat(file);
  const base = { key, sizeBytes: info.size, mtimeMs: info.mtimeMs };
  if (!isIndexable(key)) return { ...base, checksum: "", skipped: "unsupported_type" };
  if (info.size > MAX_ITEM_BYTES) return { ...base, checksum: "", skipped: "over_size" };
  const bytes = await readFile(file);
  const document = buildDocument(
    {
      key,
      raw: bytes.toString("utf8"),
      sizeBytes: info.size,
      timestamp: Math.floor(info.mtimeMs / 1000),
      instanceId,
      idSeed: corpusSeed(namespace, instanceId, key),
    },
    settings,
  );
  return { ...base, checksum: createHash("sha256").update(bytes).digest("hex"), document };
}

/** Where chunk and item ids of a corpus file come from: its place in the corpus folder. */
export function corpusSeed(namespace: string, instanceId: string, key: string): string {
  return `${namespace}/${instanceId}/${key}`;
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
export async function filesBelow(dir: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const key = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) keys.push(...(await filesBelow(path.join(dir, entry.name), key)));
    else if (entry.isFile()) keys.push(key);
  }
  return keys.sort();
}

function normaliseDate(value: string | undefined): string | undefined {
  return value === undefined ? undefined : new Date(value).toISOString();
}
