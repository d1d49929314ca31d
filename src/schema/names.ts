import { badUserInput } from "../graphql-errors.ts";
import { SLUG_PATTERN } from "../upstream/names.ts";

/*
 * The client refuses bad names too, but only as it is called; checking at the edge gives the
 * caller a precise BAD_USER_INPUT naming the field, before any loader or upstream work.
 */

const SLUG_RULE = "lowercase letters, digits, `-` or `_` (at most 64)";

/** Fan-out per request; each instance is a parallel upstream retrieval. */
export const MAX_INSTANCE_IDS = 20;

export function validateNamespace(
  namespace: string | null | undefined,
  field = "namespace",
): string {
  const name = namespace ?? "default";
  if (!SLUG_PATTERN.test(name)) throw badUserInput(`\`${field}\` must be ${SLUG_RULE}`, field);
  return name;
}

export function validateInstanceId(id: string, field = "id"): string {
  if (!SLUG_PATTERN.test(id)) throw badUserInput(`\`${field}\` must be ${SLUG_RULE}`, field);
  return id;
}

export function validateInstanceIds(ids: readonly string[]): string[] {
  if (ids.length === 0) {
    throw badUserInput("`instanceIds` must name at least one instance", "instanceIds");
  }
  if (ids.length > MAX_INSTANCE_IDS) {
    throw badUserInput(
      `\`instanceIds\` may name at most ${MAX_INSTANCE_IDS} instances`,
      "instanceIds",
    );
  }
  for (const id of ids) validateInstanceId(id, "instanceIds");
  return [...new Set(ids)];
}
