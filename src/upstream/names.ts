/**
 * Validation of everything that ends up in an upstream URL or header, run before any request
 * leaves. Path segments are still percent-encoded afterwards: the rules keep hostile input out,
 * encoding keeps a future loosening of the rules from becoming a path traversal.
 */
import { InvalidArgumentError, InvalidNameError } from "./errors.ts";

/** Namespace names and instance ids: lowercase slugs (AI Search's own rule). */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Cloudflare account ids are 32 hex chars today; this is the looser shape we accept. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Upper bound of `per_page` the client will ask for; the upstream caps lists anyway. */
export const MAX_PER_PAGE = 100;
/** Pages beyond this are certainly a bug or an attack, not a real walk. */
export const MAX_PAGE = 1_000_000;
export const MAX_SEARCH_LENGTH = 256;

// `typeof` first: the gateway is TypeScript, but values arrive from GraphQL and JSON at runtime.
export function assertNamespaceName(value: unknown): asserts value is string {
  if (typeof value !== "string" || !SLUG_PATTERN.test(value)) {
    throw new InvalidNameError("namespace", String(SLUG_PATTERN));
  }
}

export function assertInstanceId(value: unknown): asserts value is string {
  if (typeof value !== "string" || !SLUG_PATTERN.test(value)) {
    throw new InvalidNameError("instance", String(SLUG_PATTERN));
  }
}

export function assertAccountId(value: unknown): asserts value is string {
  if (typeof value !== "string" || !ACCOUNT_ID_PATTERN.test(value)) {
    throw new InvalidNameError("account", String(ACCOUNT_ID_PATTERN));
  }
}

export function assertPage(value: unknown, argument = "page"): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > MAX_PAGE) {
    throw new InvalidArgumentError(argument, `a positive integer up to ${MAX_PAGE}`);
  }
}

export function assertPerPage(value: unknown): asserts value is number {
  if (
    typeof value !== "number" ||
    !Number.isSafeInteger(value) ||
    value < 1 ||
    value > MAX_PER_PAGE
  ) {
    throw new InvalidArgumentError("perPage", `an integer from 1 to ${MAX_PER_PAGE}`);
  }
}

export function assertSearch(value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length > MAX_SEARCH_LENGTH) {
    throw new InvalidArgumentError("search", `a string of at most ${MAX_SEARCH_LENGTH} characters`);
  }
}

/**
 * Item keys are the upstream's file names: relative `/`-separated paths of at most 128
 * characters. Control characters, `"` and `\` are refused too, since the key travels as the
 * multipart `filename` of an upload, where they could end the header or the quoted value.
 */
export const MAX_ITEM_KEY_LENGTH = 128;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const ITEM_KEY_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f"\\]/;

export function assertItemKey(value: unknown): asserts value is string {
  if (
    typeof value !== "string" ||
    value.length === 0 ||
    value.length > MAX_ITEM_KEY_LENGTH ||
    ITEM_KEY_FORBIDDEN.test(value) ||
    value.split("/").some((part) => part === "" || part === "." || part === "..")
  ) {
    throw new InvalidNameError(
      "item",
      `a relative path of 1 to ${MAX_ITEM_KEY_LENGTH} characters such as "guides/setup.md" (no empty, "." or ".." segments, control characters, quotes or backslashes)`,
    );
  }
}

/** Ids the upstream gives items and jobs (UUIDs, hex): only what is safe in a path segment. */
export const RECORD_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function assertItemId(value: unknown): asserts value is string {
  if (typeof value !== "string" || !RECORD_ID_PATTERN.test(value)) {
    throw new InvalidNameError("item", String(RECORD_ID_PATTERN));
  }
}

export function assertJobId(value: unknown): asserts value is string {
  if (typeof value !== "string" || !RECORD_ID_PATTERN.test(value)) {
    throw new InvalidNameError("job", String(RECORD_ID_PATTERN));
  }
}

/** Visible ASCII only, so a request id can never split or fold a header. */
const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,200}$/;

export function assertRequestId(value: unknown): asserts value is string {
  if (typeof value !== "string" || !REQUEST_ID_PATTERN.test(value)) {
    throw new InvalidArgumentError("requestId", "1 to 200 visible ASCII characters");
  }
}

/** `encodeURIComponent` for a segment that already passed its rule. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
