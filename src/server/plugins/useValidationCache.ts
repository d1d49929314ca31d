import type { DocumentNode, GraphQLError, GraphQLSchema, ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";

type Validate = (
  schema: GraphQLSchema,
  document: DocumentNode,
  rules?: readonly ValidationRule[],
  ...rest: unknown[]
) => readonly GraphQLError[];

type Results = WeakMap<DocumentNode, readonly GraphQLError[]>;

/**
 * Remembers each document's validation result, in place of Yoga's validation cache (turned off
 * in yoga.ts; its parse cache stays). Yoga keys its cache by every rule's `name`, read and
 * joined for each operation: with the hardening plugins' rules that was ~1% of the gateway's CPU
 * per mutation, for a key that never changes. A server's rules are fixed when it is built (each
 * plugin adds its own to every operation, and the anonymous ones are a new function each time,
 * so their identity cannot be the key), so here a result is reused only by the same server for
 * the same schema, the same parsed document (Yoga's parse cache hands out one object per
 * source) and the same number of rules: a rule a plugin adds to some operations only makes
 * another count, which never reuses a result validated without it.
 *
 * It wraps the validate function rather than answering from `onValidate`, so it sees the rules
 * as validation gets them, after every plugin has added its own, wherever it sits in the list.
 * Results are held as long as their document, which Yoga's bounded parse cache holds.
 */
export function useValidationCache(): Plugin {
  const byRuleCount = new Map<number, WeakMap<GraphQLSchema, Results>>();

  const resultsFor = (schema: GraphQLSchema, ruleCount: number): Results => {
    let bySchema = byRuleCount.get(ruleCount);
    if (!bySchema) {
      bySchema = new WeakMap();
      byRuleCount.set(ruleCount, bySchema);
    }
    let results = bySchema.get(schema);
    if (!results) {
      results = new WeakMap();
      bySchema.set(schema, results);
    }
    return results;
  };

  const cachedFor = new WeakMap<Validate, Validate>();
  const cached =
    (validate: Validate): Validate =>
    (schema, document, rules, ...rest) => {
      // Type info or options (graphql's `maxErrors`) from a caller: Yoga passes neither.
      if (rest.some((arg) => arg !== undefined)) return validate(schema, document, rules, ...rest);
      const results = resultsFor(schema, rules?.length ?? -1);
      let result = results.get(document);
      if (!result) {
        result = validate(schema, document, rules);
        results.set(document, result);
      }
      return result;
    };

  return {
    onValidate({ validateFn, setValidationFn }) {
      let validate = cachedFor.get(validateFn);
      if (!validate) {
        validate = cached(validateFn);
        cachedFor.set(validateFn, validate);
      }
      setValidationFn(validate);
    },
  };
}
