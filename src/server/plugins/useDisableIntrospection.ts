import type { ASTVisitor, ValidationContext } from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";

/** The types only introspection returns; any field typed with one is introspection. */
const INTROSPECTION_TYPES = new Set([
  "__Schema",
  "__Type",
  "__TypeKind",
  "__Field",
  "__InputValue",
  "__EnumValue",
  "__Directive",
  "__DirectiveLocation",
]);

/**
 * graphql-js' `NoSchemaIntrospectionCustomRule`, restated without graphql's runtime helpers: those
 * refuse (in development) schema objects built by another copy of graphql, which is what a test
 * runner or bundler that resolves graphql's ES module build beside Yoga's CommonJS one produces.
 */
function noIntrospection(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      let type: unknown = context.getType();
      while (type && typeof type === "object" && "ofType" in type) type = type.ofType;
      const name = (type as { name?: string } | undefined)?.name;
      if (name && INTROSPECTION_TYPES.has(name)) {
        context.reportError(
          createGraphQLError(
            `GraphQL introspection has been disabled, but the requested query contained the field "${node.name.value}".`,
            { nodes: node },
          ),
        );
      }
    },
  };
}

/**
 * Refuses `__schema` and `__type` (and anything typed with an introspection type) during
 * validation, over HTTP and graphql-ws alike, with code `GRAPHQL_VALIDATION_FAILED`. `__typename`
 * still works, and so does Federation's `_service { sdl }`: it is an ordinary field, which a
 * supergraph router composes through.
 */
export function useDisableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(noIntrospection);
    },
  };
}
