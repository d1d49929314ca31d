/**
 * Metadata filters for `ai_search_options.retrieval.filters`.
 *
 * Two spellings are understood, compiled into one predicate over a chunk's item:
 * - Mongo/Vectorize style: `{ folder: "guides/" }`, `{ level: { $gte: 2 } }`,
 *   `{ audience: { $in: ["frontend", "all"] } }`, combined with `$and` / `$or` arrays;
 *   several keys in one object must all hold.
 * - AutoRAG compound style: `{ type: "eq", key: "folder", value: "guides/" }` and
 *   `{ type: "and" | "or", filters: [...] }`.
 * Fields resolve against `item.metadata`, plus `timestamp` (item mtime, seconds) and `key`.
 * A field a chunk does not have fails every operator except `$ne` / `$nin`, as in MongoDB.
 * Strings compare on their first 64 UTF-8 bytes, as upstream documents.
 */

import type { CorpusDocument, MetadataValue } from "./documents.ts";

/** What a filter looks at: a chunk's document, or an item's (which may not be indexed yet). */
export interface Filterable {
  document: Pick<CorpusDocument, "key" | "timestamp" | "metadata">;
}

export type ChunkPredicate = (chunk: Filterable) => boolean;

/** A filter the caller wrote wrong; the message is shown to them as a 400. */
export class FilterError extends Error {}

type Scalar = string | number | boolean;
const COMPARISONS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"] as const;
type Comparison = (typeof COMPARISONS)[number];
const LEGACY_TYPES: Record<string, Comparison> = {
  eq: "$eq",
  ne: "$ne",
  gt: "$gt",
  gte: "$gte",
  lt: "$lt",
  lte: "$lte",
};

/** Upstream compares strings on their first this many UTF-8 bytes, stored values and operands alike. */
const STRING_PREFIX_BYTES = 64;

function comparable<T extends MetadataValue | undefined>(value: T): T {
  if (typeof value !== "string" || Buffer.byteLength(value) <= STRING_PREFIX_BYTES) return value;
  // A cut inside a character turns into the same replacement character on both sides.
  return Buffer.from(value).subarray(0, STRING_PREFIX_BYTES).toString() as T;
}

// Deep enough for any filter a person writes; shallow enough that a hostile body cannot
// exhaust the stack.
const MAX_DEPTH = 16;

export function compileFilter(filter: unknown, where = "filters", depth = 0): ChunkPredicate {
  if (!isPlainObject(filter)) throw new FilterError(`${where} must be an object`);
  if (depth > MAX_DEPTH)
    throw new FilterError(`${where}: filters may nest at most ${MAX_DEPTH} levels`);
  if (typeof filter.type === "string" && ("key" in filter || "filters" in filter)) {
    return compileLegacy(filter, where, depth);
  }
  const parts: ChunkPredicate[] = [];
  for (const [field, condition] of Object.entries(filter)) {
    if (field === "$and" || field === "$or") {
      if (!Array.isArray(condition) || condition.length === 0) {
        throw new FilterError(`${where}.${field} must be a non-empty array of filters`);
      }
      const inner = condition.map((part, i) =>
        compileFilter(part, `${where}.${field}[${i}]`, depth + 1),
      );
      parts.push(
        field === "$and"
          ? (chunk) => inner.every((p) => p(chunk))
          : (chunk) => inner.some((p) => p(chunk)),
      );
    } else if (field.startsWith("$")) {
      throw new FilterError(`${where}: unknown operator "${field}" (use $and or $or)`);
    } else {
      parts.push(compileField(field, condition, `${where}.${field}`));
    }
  }
  return (chunk) => parts.every((p) => p(chunk));
}

function compileLegacy(
  filter: Record<string, unknown>,
  where: string,
  depth: number,
): ChunkPredicate {
  const type = filter.type as string;
  if (type === "and" || type === "or") {
    if (!Array.isArray(filter.filters) || filter.filters.length === 0) {
      throw new FilterError(`${where}.filters must be a non-empty array`);
    }
    const inner = filter.filters.map((part, i) =>
      compileFilter(part, `${where}.filters[${i}]`, depth + 1),
    );
    return type === "and"
      ? (chunk) => inner.every((p) => p(chunk))
      : (chunk) => inner.some((p) => p(chunk));
  }
  const operator = LEGACY_TYPES[type];
  if (!operator) {
    throw new FilterError(
      `${where}.type must be one of ${[...Object.keys(LEGACY_TYPES), "and", "or"].join(", ")}`,
    );
  }
  if (typeof filter.key !== "string" || filter.key.length === 0) {
    throw new FilterError(`${where}.key must be a non-empty string`);
  }
  return compileField(filter.key, { [operator]: filter.value }, `${where}.value`);
}

function compileField(field: string, condition: unknown, where: string): ChunkPredicate {
  if (!isPlainObject(condition)) {
    const expected = scalar(condition, where);
    return (chunk) => comparable(fieldValue(chunk, field)) === expected;
  }
  const tests: ((value: MetadataValue | undefined) => boolean)[] = [];
  for (const [operator, operand] of Object.entries(condition)) {
    if (!(COMPARISONS as readonly string[]).includes(operator)) {
      throw new FilterError(
        `${where}: unknown operator "${operator}" (use ${COMPARISONS.join(", ")})`,
      );
    }
    tests.push(comparison(operator as Comparison, operand, `${where}.${operator}`));
  }
  if (tests.length === 0) throw new FilterError(`${where} must contain at least one operator`);
  return (chunk) => {
    const value = comparable(fieldValue(chunk, field));
    return tests.every((test) => test(value));
  };
}

function comparison(
  operator: Comparison,
  operand: unknown,
  where: string,
): (value: MetadataValue | undefined) => boolean {
  switch (operator) {
    case "$eq": {
      const expected = scalar(operand, where);
      return (value) => value === expected;
    }
    case "$ne": {
      const expected = scalar(operand, where);
      return (value) => value !== expected;
    }
    case "$in":
    case "$nin": {
      if (!Array.isArray(operand) || operand.length === 0) {
        throw new FilterError(`${where} must be a non-empty array`);
      }
      const set = new Set(operand.map((item, i) => scalar(item, `${where}[${i}]`)));
      return operator === "$in"
        ? (value) => value !== undefined && set.has(value)
        : (value) => value === undefined || !set.has(value);
    }
    default: {
      const bound = scalar(operand, where);
      if (typeof bound === "boolean") throw new FilterError(`${where} must be a number or string`);
      return (value) => {
        // Ordering only makes sense between values of the same kind.
        if (value === undefined || typeof value !== typeof bound) return false;
        const order = value < bound ? -1 : value > bound ? 1 : 0;
        if (operator === "$gt") return order > 0;
        if (operator === "$gte") return order >= 0;
        if (operator === "$lt") return order < 0;
        return order <= 0;
      };
    }
  }
}

export function fieldValue(chunk: Filterable, field: string): MetadataValue | undefined {
  if (field === "timestamp") return chunk.document.timestamp;
  if (field === "key") return chunk.document.key;
  return chunk.document.metadata[field];
}

function scalar(value: unknown, where: string): Scalar {
  if (typeof value === "string") return comparable(value);
  if (typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new FilterError(`${where} must be a string, number or boolean`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
