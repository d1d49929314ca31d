import type { GraphQLFieldResolver, GraphQLSchema, GraphQLUnionType } from "graphql";
import { badUserInput } from "../graphql-errors.ts";

type Representation = { __typename?: unknown };

/**
 * Makes each `_entities` representation succeed or fail on its own. The subgraph library resolves
 * the whole batch in one call, so a representation that threw there (an unknown `__typename`, a
 * key that is no key) failed the batch and left `data: null` for every other one. Here each is
 * resolved alone, and a failure becomes a rejected entry, which GraphQL reports at that entry's
 * path (`_entities.2`) while nulling only it; the loaders still batch the entries together.
 */
export function isolateEntityFailures(schema: GraphQLSchema): GraphQLSchema {
  const field = schema.getQueryType()?.getFields()._entities;
  const entity = schema.getType("_Entity");
  if (!field?.resolve || !entity) return schema;
  const resolveBatch = field.resolve as GraphQLFieldResolver<unknown, unknown>;
  const entityTypes = new Set(
    schema.getPossibleTypes(entity as GraphQLUnionType).map((type) => type.name),
  );
  field.resolve = (source, args, context, info) => {
    const entries = (args as { representations: Representation[] }).representations.map(
      (representation) => {
        try {
          const { __typename } = representation;
          if (typeof __typename !== "string" || !entityTypes.has(__typename)) {
            throw badUserInput(
              "`representations`: `__typename` must name an entity type of this subgraph",
              "representations",
            );
          }
          const [resolved] = resolveBatch(
            source,
            { ...(args as object), representations: [representation] },
            context,
            info,
          ) as unknown[];
          return resolved;
        } catch (error) {
          return Promise.reject(error);
        }
      },
    );
    // Every entry settles only once all have: graphql-jit (0.8.9) leaves out trailing entries
    // that reject while an earlier one is still pending, and a router then gets a list shorter
    // than the representations it sent.
    const settled = Promise.allSettled(entries);
    return entries.map((entry) => settled.then(() => entry));
  };
  return schema;
}
