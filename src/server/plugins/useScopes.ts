import {
  type DocumentNode,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Context } from "../../context.ts";
import { forbidden, requiredScope } from "../policy/scopes.ts";

/** The root fields an operation selects, through fragments; `__typename` and friends need none. */
function rootFields(document: DocumentNode, operation: OperationDefinitionNode): Set<string> {
  const fragments = new Map(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition]] : [],
    ),
  );
  const fields = new Set<string>();
  const seen = new Set<string>();
  const walk = (selections: SelectionSetNode) => {
    for (const selection of selections.selections) {
      if (selection.kind === Kind.FIELD) {
        if (!selection.name.value.startsWith("__")) fields.add(selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return fields;
}

/**
 * Authorization by scope (policy/scopes.ts): before an operation executes, every root field it
 * selects is checked against the caller's scopes, and one it may not use refuses the whole
 * operation with `FORBIDDEN` (HTTP 403; over graphql-ws, a result with that error) — nothing runs, so no
 * upstream call is made and no half of a mutation is applied. Skipped fields (`@skip`) are
 * checked too: the caller asked for them.
 *
 * It runs as execution starts (`onExecute`, `onSubscribe`), for every transport, once the
 * context has named the caller. Not in validation: Yoga caches validation per document, and
 * this answer depends on who asks.
 */
export function useScopes(): Plugin {
  const check = (args: {
    document: DocumentNode;
    operationName?: string | null;
    contextValue: unknown;
  }) => {
    const operation = getOperationAST(args.document, args.operationName ?? undefined);
    if (!operation) return undefined;
    const { client } = args.contextValue as Context;
    for (const field of rootFields(args.document, operation)) {
      const scope = requiredScope(operation.operation, field);
      if (!client.scopes.has(scope)) return forbidden(field, scope);
    }
    return undefined;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refused = check(args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = check(args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
  };
}
