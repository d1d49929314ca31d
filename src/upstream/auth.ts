/**
 * Credentials → request headers. The gateway passes callers' tokens through, so the values are
 * untrusted: a CR/LF would let a caller inject headers, a comma could turn one value into a
 * list. Errors name the offending field, never its value.
 */
import { InvalidCredentialsError } from "./errors.ts";

export type Credentials =
  | { kind: "token"; token: string }
  | { kind: "key"; email: string; key: string };

export type AuthHeaders = Readonly<Record<string, string>>;

// Visible ASCII minus the comma: API tokens and global keys are [A-Za-z0-9_-] today, and no
// legitimate credential needs whitespace, control characters or list separators.
const SECRET_PATTERN = /^[\x21-\x2b\x2d-\x7e]{1,1024}$/;
const EMAIL_PATTERN = /^[\x21-\x2b\x2d-\x3f\x41-\x7e]{1,64}@[\x21-\x2b\x2d-\x3f\x41-\x7e]{1,255}$/;

function check(value: unknown, pattern: RegExp, field: string): string {
  if (typeof value !== "string" || !pattern.test(value)) throw new InvalidCredentialsError(field);
  return value;
}

/** Validates `credentials` and returns the headers that carry them. */
export function authHeaders(credentials: Credentials | undefined): AuthHeaders {
  if (credentials === undefined || credentials === null) {
    throw new InvalidCredentialsError("missing");
  }
  if (typeof credentials !== "object") throw new InvalidCredentialsError("kind");
  if (credentials.kind === "token") {
    return { authorization: `Bearer ${check(credentials.token, SECRET_PATTERN, "token")}` };
  }
  if (credentials.kind === "key") {
    return {
      "x-auth-email": check(credentials.email, EMAIL_PATTERN, "email"),
      "x-auth-key": check(credentials.key, SECRET_PATTERN, "key"),
    };
  }
  throw new InvalidCredentialsError("kind");
}
