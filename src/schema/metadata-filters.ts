import { GraphQLError, Kind } from "graphql";
import { builder } from "../builder.ts";
import { badUserInput } from "../graphql-errors.ts";
import type { JsonObject } from "../upstream/types.ts";

/*
 * Typed metadata filters: what Cloudflare documents for `ai_search_options.retrieval.filters`,
 * as GraphQL input GraphiQL can complete. Each entry is one field's condition; all must hold
 * (Cloudflare: several keys mean AND). An entry's operators are Cloudflare's `$eq $ne $in $nin
 * $lt $lte $gt $gte` (a bare wire value is `$eq`). Everything is checked here, before any
 * upstream call, so a filter the upstream would refuse, or silently read otherwise, never
 * leaves the gateway.
 */

export type FilterValue = string | number | boolean;

/**
 * Cloudflare compares strings on their first 64 UTF-8 bytes, so a longer value would match every
 * value sharing its first 64 bytes: refused rather than quietly widened.
 */
const MAX_FILTER_STRING_BYTES = 64;
/** Conditions per request; Cloudflare allows 5 custom fields beside the built-in ones. */
const MAX_FILTERS = 20;
/** Values of one `in` / `nin` list. */
const MAX_FILTER_VALUES = 100;

const FIELD_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

// A GraphQLError, so graphql reports it as invalid input instead of wrapping an unexpected one.
const notAFilterValue = () =>
  new GraphQLError("A filter value is a string, a number or a boolean.");

function asFilterValue(value: unknown): FilterValue {
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw notAFilterValue();
}

builder.scalarType("FilterValue", {
  description:
    "A metadata value to compare with: a string (at most 64 bytes, as Cloudflare compares only those), a number (timestamps are seconds) or a boolean.",
  serialize: asFilterValue,
  parseValue: asFilterValue,
  parseLiteral: (node) => {
    if (node.kind === Kind.STRING || node.kind === Kind.BOOLEAN) return node.value;
    if (node.kind === Kind.INT || node.kind === Kind.FLOAT) return Number(node.value);
    throw notAFilterValue();
  },
});

const OPERATORS = {
  eq: "$eq",
  ne: "$ne",
  in: "$in",
  nin: "$nin",
  lt: "$lt",
  lte: "$lte",
  gt: "$gt",
  gte: "$gte",
} as const;
type Operator = keyof typeof OPERATORS;
const LISTS: ReadonlySet<Operator> = new Set(["in", "nin"]);
const RANGES: ReadonlySet<Operator> = new Set(["lt", "lte", "gt", "gte"]);

export const MetadataFilterInput = builder.inputType("MetadataFilterInput", {
  description:
    "One condition on one metadata field; a chunk must meet every operator given. Several conditions in `filters` must all hold.",
  fields: (t) => ({
    field: t.string({
      required: true,
      description:
        "The metadata field: `folder` (e.g. `guides/`), `filename`, `timestamp`, or a custom field of the instance.",
    }),
    eq: t.field({ type: "FilterValue", description: "Equal to ($eq)." }),
    ne: t.field({ type: "FilterValue", description: "Not equal to ($ne)." }),
    in: t.field({ type: ["FilterValue"], description: "Equal to one of these ($in)." }),
    nin: t.field({ type: ["FilterValue"], description: "Equal to none of these ($nin)." }),
    lt: t.field({ type: "FilterValue", description: "Less than ($lt)." }),
    lte: t.field({ type: "FilterValue", description: "Less than or equal to ($lte)." }),
    gt: t.field({ type: "FilterValue", description: "Greater than ($gt)." }),
    gte: t.field({
      type: "FilterValue",
      description:
        'Greater than or equal to ($gte). With `lt`, a range: `{ field: "folder", gte: "docs/", lt: "docs0" }` is "starts with docs/".',
    }),
  }),
});

type MetadataFilter = typeof MetadataFilterInput.$inferInput;

function checkValue(value: FilterValue, where: string, operator: Operator): FilterValue {
  if (RANGES.has(operator) && typeof value === "boolean") {
    throw badUserInput(`\`${where}\` compares a number or a string, not a boolean`, where);
  }
  if (typeof value === "string" && Buffer.byteLength(value) > MAX_FILTER_STRING_BYTES) {
    throw badUserInput(
      `\`${where}\` holds more than ${MAX_FILTER_STRING_BYTES} bytes; AI Search compares strings on their first ${MAX_FILTER_STRING_BYTES} bytes only`,
      where,
    );
  }
  return value;
}

/**
 * The wire's `filters` object for typed conditions: `{ field: { $op: value } }`, conditions on
 * the same field merged (an operator given twice for one field is refused: which would win?).
 */
export function toWireFilters(
  filters: readonly MetadataFilter[] | null | undefined,
  path = "retrieval.filters",
): JsonObject | undefined {
  if (filters == null || filters.length === 0) return undefined;
  if (filters.length > MAX_FILTERS) {
    throw badUserInput(`\`${path}\` may hold at most ${MAX_FILTERS} conditions`, path);
  }
  // A Map, not an object: a field named `__proto__` must stay a field.
  const wire = new Map<string, Record<string, FilterValue | FilterValue[]>>();
  filters.forEach((filter, i) => {
    const where = `${path}[${i}]`;
    if (!FIELD_PATTERN.test(filter.field)) {
      throw badUserInput(
        `\`${where}.field\` must be a metadata field name (letters, digits, \`_\`, \`.\`, \`-\`; at most 64)`,
        `${where}.field`,
      );
    }
    const condition = wire.get(filter.field) ?? {};
    wire.set(filter.field, condition);
    let operators = 0;
    for (const operator of Object.keys(OPERATORS) as Operator[]) {
      const operand = filter[operator];
      if (operand == null) continue;
      operators++;
      const at = `${where}.${operator}`;
      if (OPERATORS[operator] in condition) {
        throw badUserInput(`\`${at}\`: \`${filter.field}\` already has \`${operator}\``, at);
      }
      if (LISTS.has(operator)) {
        const values = operand as FilterValue[];
        if (values.length === 0 || values.length > MAX_FILTER_VALUES) {
          throw badUserInput(`\`${at}\` must hold 1 to ${MAX_FILTER_VALUES} values`, at);
        }
        condition[OPERATORS[operator]] = values.map((v) => checkValue(v, at, operator));
      } else {
        condition[OPERATORS[operator]] = checkValue(operand as FilterValue, at, operator);
      }
    }
    if (operators === 0) {
      throw badUserInput(
        `\`${where}\` needs an operator: eq, ne, in, nin, lt, lte, gt or gte`,
        where,
      );
    }
  });
  return Object.fromEntries(wire);
}
