/**
 * Turning the text of one file into an indexed document: front matter, built-in metadata
 * (`folder`, `title`, `extension`), chunks with stable ids. Shared by the corpus loader and by
 * uploaded items, so a file indexes the same way whichever way it arrived.
 */

import { createHash } from "node:crypto";
import path from "node:path";
import type { CustomMetadataType } from "../upstream/types.ts";
import { type ChunkingSettings, type ChunkSpan, chunkText } from "./chunking.ts";

/** Cloudflare's documented item size limit ("Maximum file size is 4 MB"), read as 4 MiB. */
export const MAX_ITEM_BYTES = 4 * 1024 * 1024;

/** Cloudflare's limit on an item key (the uploaded file's name). */
export const MAX_KEY_LENGTH = 128;

/**
 * The plain-text types Cloudflare documents as supported, by extension. Rich formats (PDF,
 * Office, HTML, images) are converted to Markdown upstream; the local server has no converter,
 * so it treats them as unsupported rather than index something it cannot read.
 */
export const TEXT_EXTENSIONS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    txt: "text/plain",
    rst: "text/plain",
    log: "text/plain",
    ini: "text/plain",
    conf: "text/plain",
    env: "text/plain",
    properties: "text/plain",
    gitignore: "text/plain",
    editorconfig: "text/plain",
    toml: "text/toml",
    markdown: "text/markdown",
    md: "text/markdown",
    mdx: "text/markdown",
    tex: "application/x-tex",
    latex: "application/x-latex",
    sh: "application/x-sh",
    bat: "application/x-msdos-batch",
    ps1: "text/x-powershell",
    sgml: "text/sgml",
    json: "application/json",
    yaml: "application/x-yaml",
    yml: "application/x-yaml",
    css: "text/css",
    js: "application/javascript",
    php: "application/x-httpd-php",
    py: "text/x-python",
    rb: "text/x-ruby",
    java: "text/x-java-source",
    c: "text/x-c",
    cpp: "text/x-c++",
    cxx: "text/x-c++",
    h: "text/x-c-header",
    hpp: "text/x-c-header",
    go: "text/x-go",
    rs: "text/rust",
    swift: "text/swift",
    dart: "text/dart",
    el: "text/x-elisp",
  }),
);

export type MetadataValue = string | number | boolean;

export interface CorpusDocument {
  /** Path relative to the instance, `/`-separated. */
  key: string;
  /** File content without front matter; chunk offsets point into it. */
  body: string;
  /** Bytes of front matter before `body` in the stored file (for byte offsets). */
  bodyOffsetBytes: number;
  sizeBytes: number;
  /** Modification (or upload) time in whole seconds. */
  timestamp: number;
  metadata: Record<string, MetadataValue>;
  chunks: CorpusChunk[];
}

export interface CorpusChunk extends ChunkSpan {
  id: string;
  instanceId: string;
  document: CorpusDocument;
}

export interface DocumentSource {
  key: string;
  /** The file's text, front matter included. */
  raw: string;
  sizeBytes: number;
  timestamp: number;
  instanceId: string;
  /** Seeds chunk ids, so they stay stable across restarts (and moves) of the same item. */
  idSeed: string;
  /** Upload metadata; front matter and built-in fields take precedence over nothing else. */
  customMetadata?: Record<string, MetadataValue>;
}

/** The extension of a key, lower-cased, without the dot ("" when there is none). */
export function extensionOf(key: string): string {
  const base = path.posix.basename(key);
  // Dot-files such as `.gitignore` are named by their extension.
  if (base.startsWith(".") && base.indexOf(".", 1) === -1) return base.slice(1).toLowerCase();
  return path.posix.extname(base).slice(1).toLowerCase();
}

export function isIndexable(key: string): boolean {
  return TEXT_EXTENSIONS.has(extensionOf(key));
}

export function contentTypeOf(key: string): string {
  return TEXT_EXTENSIONS.get(extensionOf(key)) ?? "application/octet-stream";
}

export function buildDocument(source: DocumentSource, settings: ChunkingSettings): CorpusDocument {
  const { frontMatter, body } = splitFrontMatter(source.raw);
  const extension = extensionOf(source.key);
  const document: CorpusDocument = {
    key: source.key,
    body,
    bodyOffsetBytes: Buffer.byteLength(source.raw.slice(0, source.raw.length - body.length)),
    sizeBytes: source.sizeBytes,
    timestamp: source.timestamp,
    metadata: {
      ...source.customMetadata,
      ...frontMatter,
      folder: folderOf(source.key),
      extension,
      title: stringValue(frontMatter.title) ?? firstHeading(body) ?? fileStem(source.key),
    },
    chunks: [],
  };
  chunkDocument(document, source.instanceId, source.idSeed, settings);
  return document;
}

/** (Re)computes a document's chunks, e.g. after its instance's chunking settings changed. */
export function chunkDocument(
  document: CorpusDocument,
  instanceId: string,
  idSeed: string,
  settings: ChunkingSettings,
): void {
  document.chunks = chunkText(document.body, settings).map((span) => ({
    ...span,
    id: chunkId(idSeed, span.index),
    instanceId,
    document,
  }));
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

function chunkId(seed: string, index: number): string {
  return createHash("sha256").update(`${seed}#${index}`).digest("hex").slice(0, 32);
}

/** The filterable fields of a set of documents, typed by the values they hold. */
export function metadataFieldsOf(
  documents: Iterable<CorpusDocument>,
): { field_name: string; data_type: CustomMetadataType }[] {
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
