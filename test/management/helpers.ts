import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LocalAiSearch } from "../../src/local/server.ts";

export const UPLOAD = `mutation Upload($input: UploadItemInput!) {
  uploadItem(input: $input) {
    item { id itemId key status fileSize }
    warnings { code field }
    userErrors { code message field ... on SyncTooSoonError { retryAfterMs } }
  }
}`;

export const CREATE_NAMESPACE = `mutation($input: CreateNamespaceInput!) {
  createNamespace(input: $input) { namespace { name description } userErrors { __typename code message field } }
}`;

export const CREATE_INSTANCE = `mutation($input: CreateInstanceInput!) {
  createInstance(input: $input) { instance { id instanceId namespace { name } chunkSize } userErrors { __typename code message } }
}`;

export async function tempDir(prefix = "gateway-management-"): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Requests the local AI Search received whose path contains `fragment`. */
export function requestsTo(local: LocalAiSearch, fragment: string, method?: string): number {
  return local.requests.filter(
    (request) => request.path.includes(fragment) && (!method || request.method === method),
  ).length;
}

export interface MultipartFile {
  /** The variable path, e.g. `variables.input.file`. */
  path: string;
  content: BlobPart;
  filename: string;
  type?: string;
}

/**
 * A GraphQL multipart request (operations, map, then the files) over real HTTP, as an upload
 * client sends it: `fetch` with a `FormData` body, so it declares its Content-Length.
 */
export async function multipartPost(
  graphqlUrl: string,
  query: string,
  variables: Record<string, unknown>,
  files: MultipartFile[],
  headers: Record<string, string> = { "graphql-require-preflight": "1" },
) {
  const form = new FormData();
  form.set("operations", JSON.stringify({ query, variables }));
  form.set(
    "map",
    JSON.stringify(Object.fromEntries(files.map((file, index) => [String(index), [file.path]]))),
  );
  files.forEach((file, index) => {
    form.set(
      String(index),
      new Blob([file.content], { type: file.type ?? "text/markdown" }),
      file.filename,
    );
  });
  const response = await fetch(graphqlUrl, {
    method: "POST",
    headers: { accept: "application/json", ...headers },
    body: form,
  });
  const text = await response.text();
  let body: {
    // biome-ignore lint/suspicious/noExplicitAny: tests read whatever the operation selected
    data?: Record<string, any> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${response.status}): ${text.slice(0, 200)}`);
  }
  return { status: response.status, body };
}

/** One file upload to an instance through `uploadItem`. */
export function uploadItem(
  graphqlUrl: string,
  input: {
    namespace?: string;
    instanceId: string;
    key?: string;
    waitForCompletion?: boolean;
    metadata?: unknown;
  },
  file: { content: BlobPart; filename: string; type?: string },
  headers?: Record<string, string>,
) {
  return multipartPost(
    graphqlUrl,
    UPLOAD,
    { input: { ...input, file: null } },
    [{ path: "variables.input.file", ...file }],
    headers,
  );
}
