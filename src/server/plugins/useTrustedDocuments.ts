import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import { refusal } from "../refusals.ts";

export type TrustedDocumentsMode = "log" | "enforce";

/** The fields of a GraphQL request this plugin reads. */
interface DocumentRequest {
  query?: string | null;
  operationName?: string | null;
  extensions?: Record<string, unknown> | null;
  /** GraphQL over HTTP's persisted-document parameter, e.g. `sha256:…`. */
  documentId?: unknown;
}

export interface TrustedDocumentsLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

export interface TrustedDocumentsOptions {
  /** `enforce` refuses documents outside the manifest; `log` runs them and reports each once. */
  mode: TrustedDocumentsMode;
  /**
   * The persisted-documents manifest: `sha256:<hex>` → document text, as written by codegen.
   * @default the contents of `operations/generated/persisted-documents.json`
   */
  documents?: Readonly<Record<string, string>>;
  /**
   * Where `log` mode reports unknown documents (pino's `warn(obj, msg)` fits).
   * @default one JSON line on stderr
   */
  logger?: TrustedDocumentsLogger;
  /**
   * How many distinct unknown documents `log` mode reports before it goes quiet, so a client
   * generating documents cannot flood the log or grow memory.
   * @default 1000
   */
  maxLoggedDocuments?: number;
}

const MANIFEST = new URL("../../../operations/generated/persisted-documents.json", import.meta.url);
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** How much of an unknown document `log` mode writes: enough to recognise it, not a whole body. */
const LOGGED_TEXT_CHARS = 2048;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function readPersistedDocuments(path: URL | string = MANIFEST): Record<string, string> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, string>;
}

/**
 * The manifest indexed by bare hex hash. Each key is checked against its text: a manifest edited
 * by hand (or merged badly) would otherwise trust a document nobody reviewed under a known id.
 */
function indexManifest(documents: Readonly<Record<string, string>>): Map<string, string> {
  const byHash = new Map<string, string>();
  for (const [key, text] of Object.entries(documents)) {
    const hash = key.replace(/^sha256:/, "").toLowerCase();
    if (!SHA256_HEX.test(hash) || sha256(text) !== hash) {
      throw new Error(`persisted document "${key}" does not match the SHA-256 of its text`);
    }
    byHash.set(hash, text);
  }
  return byHash;
}

/**
 * The id a client sent, from `documentId` (GraphQL over HTTP; `sha256:` prefix optional) or
 * Apollo's `extensions.persistedQuery.sha256Hash`. `null` when there is none; an empty string
 * when there is one we could never know, so it is reported as not found.
 */
function documentIdOf(request: DocumentRequest): string | null {
  const persisted = request.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
  const raw = request.documentId ?? persisted?.sha256Hash;
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "string") return "";
  const hash = raw.replace(/^sha256:/, "").toLowerCase();
  return SHA256_HEX.test(hash) ? hash : "";
}

const stderrLogger: TrustedDocumentsLogger = {
  warn(details, message) {
    process.stderr.write(`${JSON.stringify({ level: "warn", msg: message, ...details })}\n`);
  },
};

/**
 * Trusted documents: only the operations in the codegen persisted-documents manifest run.
 *
 * Clients send a document id (`documentId` or `extensions.persistedQuery.sha256Hash`); the id is
 * swapped for the manifest text in `onParams`, before Yoga checks the params, and any text the
 * client sent alongside is ignored. The check itself sits in `onParse`, on the text about to be
 * parsed, so nothing reaches the parser unless it is a manifest document. graphql-ws operations
 * pass through both hooks like HTTP ones (send the id in `extensions.persistedQuery` and
 * `query: ""`).
 *
 * In `enforce` mode document text is refused (`PERSISTED_QUERY_ONLY`) unless it is, byte for
 * byte, a manifest document; an unknown id is refused (`PERSISTED_QUERY_NOT_FOUND`). In `log`
 * mode unknown text runs and is reported once per distinct document.
 */
export function useTrustedDocuments(options: TrustedDocumentsOptions): Plugin {
  const byHash = indexManifest(options.documents ?? readPersistedDocuments());
  const trusted = new Set(byHash.values());
  const enforce = options.mode === "enforce";
  const logger = options.logger ?? stderrLogger;
  const maxLogged = options.maxLoggedDocuments ?? 1000;
  const logged = new Set<string>();

  const notFound = () =>
    refusal(ErrorCode.PERSISTED_QUERY_NOT_FOUND, "No persisted document has this id.", 400);

  /** The text to parse for this request; throws a refusal for an unknown id that cannot run. */
  const resolveQuery = (request: DocumentRequest): string => {
    const id = documentIdOf(request);
    if (id === null) return request.query ?? "";
    const text = byHash.get(id);
    if (text !== undefined) return text;
    // `log` mode can still run the text an APQ-style client sent along with an unknown id.
    if (!enforce && typeof request.query === "string" && request.query !== "") {
      return request.query;
    }
    throw notFound();
  };

  const report = (text: string, operationName: unknown) => {
    if (logged.size >= maxLogged) return;
    const hash = sha256(text);
    if (logged.has(hash)) return;
    logged.add(hash);
    logger.warn(
      {
        documentId: `sha256:${hash}`,
        operationName: typeof operationName === "string" ? operationName : undefined,
        document: text.slice(0, LOGGED_TEXT_CHARS),
      },
      "untrusted GraphQL document executed (TRUSTED_DOCUMENTS=log)",
    );
  };

  return {
    onParams({ params, request, setParams }) {
      const fromUrl =
        request.method === "GET" ? new URL(request.url).searchParams.get("documentId") : null;
      const { documentId, ...rest } = params as typeof params & { documentId?: unknown };
      const candidate: DocumentRequest = { ...rest, documentId: documentId ?? fromUrl };
      if (documentIdOf(candidate) === null) return;
      // Yoga refuses parameters it does not know, so `documentId` is consumed here.
      setParams({ ...rest, query: resolveQuery(candidate) });
    },
    onParse({ params, context }) {
      const text = typeof params.source === "string" ? params.source : params.source.body;
      if (trusted.has(text)) return;
      if (enforce) {
        throw refusal(
          ErrorCode.PERSISTED_QUERY_ONLY,
          "Only persisted documents are accepted: send a document id instead of the document.",
          400,
        );
      }
      const operationName = (context as { params?: { operationName?: unknown } }).params
        ?.operationName;
      report(text, operationName);
    },
  };
}
