import SchemaBuilder from "@pothos/core";
import DirectivesPlugin from "@pothos/plugin-directives";
import FederationPlugin from "@pothos/plugin-federation";
import RelayPlugin from "@pothos/plugin-relay";
import type { Context } from "./context.ts";
import type { UploadedFile } from "./uploads/file.ts";

interface Types {
  Context: Context;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: Date; Output: Date | string | number };
    /** A file of a multipart request, read as it arrives (src/uploads/file.ts). */
    File: { Input: UploadedFile; Output: never };
    FilterValue: { Input: string | number | boolean; Output: string | number | boolean };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
}

/** The builder's resolved types, for helpers that take Pothos field builders. */
export type SchemaTypes = PothosSchemaTypes.ExtendDefaultTypes<Types>;

export const builder = new SchemaBuilder<Types>({
  // Federation wraps resolvers, so it comes after the plugins whose behaviour it must see.
  plugins: [RelayPlugin, DirectivesPlugin, FederationPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    nodesOnConnection: { description: "The page's objects, without their cursors." },
    idFieldOptions: { description: "A globally unique, opaque id, for `node(id:)` and caches." },
    edgesFieldOptions: { description: "The page's objects, each with its cursor." },
    pageInfoFieldOptions: { description: "Where this page sits, and the cursors to move on." },
    cursorFieldOptions: { description: "Opaque position of this object, for `after`/`before`." },
    nodeFieldOptions: { description: "The object." },
    hasNextPageFieldOptions: { description: "True when `after: endCursor` has more objects." },
    hasPreviousPageFieldOptions: { description: "True when `before: startCursor` has more." },
    startCursorFieldOptions: { description: "Cursor of the page's first object." },
    endCursorFieldOptions: { description: "Cursor of the page's last object." },
    firstArgOptions: { description: "Take this many from the start (at most 100; default 20)." },
    afterArgOptions: { description: "Start after this cursor." },
    lastArgOptions: { description: "Take this many from the end (at most 100)." },
    beforeArgOptions: { description: "End before this cursor." },
    defaultEdgeTypeOptions: { description: "An object of a page, with its cursor." },
    nodeTypeOptions: { description: "An object with a globally unique, opaque `id` (Relay)." },
    pageInfoTypeOptions: {
      description: "Where a page of a connection sits in the whole list.",
      // Every Relay subgraph defines the same PageInfo; Federation 2 only composes that when all
      // of them mark it shareable.
      shareable: true,
    },
    // Written in src/schema/node.ts, which treats ids as client input.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});
