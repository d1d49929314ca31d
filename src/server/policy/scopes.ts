/**
 * Authorization scopes: what a caller may do, by root field. `read` covers queries (and
 * watching indexing progress), `chat` the answers (`chatCompletion`, streams), `admin` every
 * management write. The map below is the one place that says which root field needs which
 * scope; a root field it does not name gets its operation type's default, which for mutations is
 * `admin`, so a new write is closed until someone decides otherwise.
 */
import { ErrorCode } from "../../error-codes.ts";
import { refusal } from "../refusals.ts";

export type Scope = "read" | "chat" | "admin";

export const ALL_SCOPES: ReadonlySet<Scope> = Object.freeze(
  new Set<Scope>(["read", "chat", "admin"]),
);
/** What a key from `AUTH_API_KEYS` (and a JWT without a `scope` claim) may do. */
export const CLIENT_SCOPES: ReadonlySet<Scope> = Object.freeze(new Set<Scope>(["read", "chat"]));
export const NO_SCOPES: ReadonlySet<Scope> = Object.freeze(new Set<Scope>());

type OperationKind = "query" | "mutation" | "subscription";

interface RootScopes {
  /** For a root field the map does not name. */
  default: Scope;
  fields: Readonly<Record<string, Scope>>;
}

/** Root field → the scope it needs. */
export const ROOT_FIELD_SCOPES: Readonly<Record<OperationKind, RootScopes>> = {
  query: { default: "read", fields: {} },
  // Cancelling a stream is part of asking: its owner check (the stream's identity) is its own.
  mutation: {
    default: "admin",
    fields: { chatCompletion: "chat", cancelChatCompletionStream: "chat" },
  },
  subscription: {
    default: "chat",
    fields: {
      chatCompletionStream: "chat",
      resumeChatCompletionStream: "chat",
      instanceIndexingProgress: "read",
    },
  },
};

export function requiredScope(operation: OperationKind, field: string): Scope {
  const scopes = ROOT_FIELD_SCOPES[operation];
  return scopes.fields[field] ?? scopes.default;
}

const CLAIM_PREFIX = "aisearch:";

/**
 * The scopes of a JWT's `scope` claim (RFC 8693: space-separated; an array of strings is taken
 * too), keeping only `aisearch:read`, `aisearch:chat` and `aisearch:admin`. Undefined when the
 * token has no `scope` claim at all: such a token is a plain client (read and chat), as an API
 * key from `AUTH_API_KEYS` is.
 */
export function scopesFromClaim(claim: unknown): ReadonlySet<Scope> | undefined {
  if (claim === undefined || claim === null) return undefined;
  const values = typeof claim === "string" ? claim.split(" ") : Array.isArray(claim) ? claim : [];
  const scopes = new Set<Scope>();
  for (const value of values) {
    if (typeof value !== "string" || !value.startsWith(CLAIM_PREFIX)) continue;
    const scope = value.slice(CLAIM_PREFIX.length);
    if (ALL_SCOPES.has(scope as Scope)) scopes.add(scope as Scope);
  }
  return scopes;
}

/** The refusal of an operation whose caller lacks `scope` (HTTP 403, whatever it accepts). */
export function forbidden(field: string, scope: Scope) {
  return refusal(
    ErrorCode.FORBIDDEN,
    `\`${field}\` needs the \`${scope}\` scope, which these credentials do not have.`,
    403,
    { scope },
  );
}
