import { builder } from "../builder.ts";
import { ErrorCode } from "../error-codes.ts";
import { describeError } from "../graphql-errors.ts";
import { UpstreamError, type UpstreamErrorCode, UpstreamHttpError } from "../upstream/errors.ts";

/*
 * The refusals a management mutation expects — a name taken, a namespace not empty, the
 * `default` namespace, a sync too soon, a file too large, an account limit — are answers, not
 * failures: they come back in the payload's `userErrors`, typed, so a client can switch on
 * `code` (or on the concrete type, for its extra fields) and show a form error. Everything else
 * (bad input, NOT_FOUND, the upstream down) stays a GraphQL error with its `extensions.code`.
 */

export type UserErrorKind =
  | "NameTakenError"
  | "NamespaceNotEmptyError"
  | "DefaultNamespaceError"
  | "SyncTooSoonError"
  | "FileTooLargeError"
  | "LimitReachedError";

export interface UserErrorRecord {
  kind: UserErrorKind;
  code: string;
  message: string;
  /** Path of the input field at fault, e.g. `["input", "name"]`. */
  field: string[] | null;
  retryAfterMs?: number;
}

const KIND_BY_UPSTREAM_CODE: Partial<Record<UpstreamErrorCode, UserErrorKind>> = {
  UPSTREAM_NAME_TAKEN: "NameTakenError",
  UPSTREAM_NAMESPACE_NOT_EMPTY: "NamespaceNotEmptyError",
  UPSTREAM_DEFAULT_NAMESPACE: "DefaultNamespaceError",
  UPSTREAM_SYNC_COOLDOWN: "SyncTooSoonError",
  UPSTREAM_FILE_TOO_LARGE: "FileTooLargeError",
  UPSTREAM_LIMIT_REACHED: "LimitReachedError",
};

const UserErrorCode = builder.enumType("UserErrorCode", {
  description: "Why a management mutation was refused (the payload's `userErrors`).",
  values: {
    NAME_TAKEN: { value: ErrorCode.NAME_TAKEN, description: "The name, id or key is in use." },
    NAMESPACE_NOT_EMPTY: {
      value: ErrorCode.NAMESPACE_NOT_EMPTY,
      description: "The namespace still has instances.",
    },
    DEFAULT_NAMESPACE: {
      value: ErrorCode.DEFAULT_NAMESPACE,
      description: "The `default` namespace cannot be created, deleted or described.",
    },
    SYNC_TOO_SOON: {
      value: ErrorCode.SYNC_TOO_SOON,
      description: "A sync started too soon after the previous one.",
    },
    FILE_TOO_LARGE: {
      value: ErrorCode.FILE_TOO_LARGE,
      description: "The file is over the upstream's item size limit.",
    },
    LIMIT_REACHED: {
      value: ErrorCode.LIMIT_REACHED,
      description: "The account has as many namespaces or instances as it may.",
    },
  } as const,
});

export const UserErrorRef = builder.interfaceRef<UserErrorRecord>("UserError").implement({
  description: "A refusal a mutation expects, returned in its payload rather than as an error.",
  resolveType: (error) => error.kind,
  fields: (t) => ({
    code: t.field({
      type: UserErrorCode,
      description: "Stable code, the same as `extensions.code` would be.",
      resolve: (e) => e.code as never,
    }),
    message: t.exposeString("message", { description: "What went wrong, safe to show." }),
    field: t.exposeStringList("field", {
      nullable: true,
      description: 'Path of the input field at fault, e.g. `["input", "name"]`.',
    }),
  }),
});

const plain = (kind: UserErrorKind, description: string) =>
  builder.objectRef<UserErrorRecord>(kind).implement({
    description,
    interfaces: [UserErrorRef],
    isTypeOf: (value) => (value as UserErrorRecord).kind === kind,
  });

plain(
  "NameTakenError",
  "A namespace name, an instance id (in its namespace) or an item key is taken.",
);
plain("NamespaceNotEmptyError", "The namespace still has instances: delete or move them first.");
plain(
  "DefaultNamespaceError",
  "The `default` namespace cannot be created or deleted, nor its description changed.",
);
plain("FileTooLargeError", "The file is larger than the upstream accepts for one item (4 MiB).");
plain("LimitReachedError", "The account has as many namespaces or instances as it may.");
builder.objectRef<UserErrorRecord>("SyncTooSoonError").implement({
  description: "A sync started within the upstream's cooldown (30 s) of the previous one.",
  interfaces: [UserErrorRef],
  isTypeOf: (value) => (value as UserErrorRecord).kind === "SyncTooSoonError",
  fields: (t) => ({
    retryAfterMs: t.int({
      nullable: true,
      description: "How long to wait before a sync can start, when the upstream says.",
      resolve: (e) => e.retryAfterMs ?? null,
    }),
  }),
});

/** The user error `error` stands for, or undefined when it is a real failure. */
function userErrorOf(error: unknown, field: string[] | null = null): UserErrorRecord | undefined {
  if (!(error instanceof UpstreamError)) return undefined;
  const kind = KIND_BY_UPSTREAM_CODE[error.code];
  if (!kind) return undefined;
  const { code, message } = describeError(error);
  const record: UserErrorRecord = { kind, code, message, field };
  if (error instanceof UpstreamHttpError && error.retryAfterMs !== undefined) {
    record.retryAfterMs = error.retryAfterMs;
  }
  return record;
}

/**
 * Runs a mutation's upstream work: its result with no user errors, or, when the upstream refused
 * in a way the payload can say, no result and that user error. Real failures are thrown.
 */
export async function withUserErrors<T extends object>(
  run: () => Promise<T>,
  field: string[] | null = null,
): Promise<Partial<T> & { userErrors: UserErrorRecord[] }> {
  try {
    return { ...(await run()), userErrors: [] };
  } catch (error) {
    const userError = userErrorOf(error, field);
    if (!userError) throw error;
    return { userErrors: [userError] } as Partial<T> & { userErrors: UserErrorRecord[] };
  }
}
