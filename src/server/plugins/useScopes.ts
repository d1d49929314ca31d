import {
  type DocumentNode,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import { forbidden, NO_SCOPES, requiredScope, type Scope } from "../policy/scopes.ts";
import { requestState } from "../request-state.ts";
import { clientOf } from "./useClientAuth.ts";

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
 * Authorization by scope (policy/scopes.ts): every root field an operation selects is checked
 * against the caller's scopes, and one it may not use refuses the whole operation with
 * `FORBIDDEN` (HTTP 403; a graphql-ws `error` message) — nothing runs, so no upstream call is
 * made and no half of a mutation is applied. Skipped fields (`@skip`) are checked too: the
 * caller asked for them.
 *
 * The check runs while the context is built, after parse and validation, for every transport,
 * like the subscription caps: registered before them, a refused subscription holds no slot. Not
 * in validation, whose result is cached per document, while this answer depends on who asks.
 */
export function useScopes(): Plugin {
  const documents = requestState<DocumentNode>("parsed document");
  // Yoga's parse cache hands out one DocumentNode per query text, so an operation's needs are
  // worked out once, not walked again on every request.
  const needs = new WeakMap<DocumentNode, Map<string, [field: string, scope: Scope][]>>();
  const needsOf = (document: DocumentNode, operationName: string | undefined) => {
    let byName = needs.get(document);
    if (!byName) {
      byName = new Map();
      needs.set(document, byName);
    }
    const name = operationName ?? "";
    let list = byName.get(name);
    if (!list) {
      const operation = getOperationAST(document, operationName);
      list = operation
        ? [...rootFields(document, operation)].map((field) => [
            field,
            requiredScope(operation.operation, field),
          ])
        : [];
      byName.set(name, list);
    }
    return list;
  };
  return {
    onParse({ context }) {
      return ({ result }) => {
        if (result && !(result instanceof Error)) documents.set(context, result);
      };
    },
    onContextBuilding({ context }) {
      const document = documents.get(context);
      if (!document) return;
      const { request, params } = context as {
        request?: Request;
        params?: { operationName?: string | null };
      };
      // `useClientAuth` has named every caller by now; without it, nothing is allowed.
      const scopes = clientOf(request)?.scopes ?? NO_SCOPES;
      for (const [field, scope] of needsOf(document, params?.operationName ?? undefined)) {
        if (!scopes.has(scope)) throw forbidden(field, scope);
      }
    },
  };
}
