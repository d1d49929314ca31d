import { readFileSync } from "node:fs";
import type { CodegenConfig } from "@graphql-codegen/cli";
import {
  buildASTSchema,
  type DocumentNode,
  Kind,
  parse,
  printSchema,
  specifiedDirectives,
  visit,
} from "graphql";

/**
 * The client's view of the committed `schema.graphql`.
 *
 * That file is the Federation 2 subgraph SDL: it applies `@link`, `@key` and `@shareable` without
 * defining them (the router knows them). Those applications are routing metadata, not part of the
 * graph a client queries, so they are dropped here; every other directive stays. The rest is built
 * with full SDL validation, so a broken schema fails codegen instead of slipping through.
 */
function clientSchemaSdl(path: string): string {
  const subgraph = parse(readFileSync(path, "utf8"));
  const defined = new Set([
    ...specifiedDirectives.map((directive) => directive.name),
    ...subgraph.definitions.flatMap((node) =>
      node.kind === Kind.DIRECTIVE_DEFINITION ? [node.name.value] : [],
    ),
  ]);
  const client: DocumentNode = visit(subgraph, {
    SchemaExtension: () => null,
    Directive: (node) => (defined.has(node.name.value) ? undefined : null),
  });
  return printSchema(buildASTSchema(client));
}

/**
 * Typed documents for the example operations in `operations/`, plus a persisted-documents
 * manifest (hash → document) that the gateway can use as its list of trusted operations.
 * Reads the committed `schema.graphql`, so it runs without starting the gateway. `npm run check`
 * runs it with `--check`, which fails when `operations/generated/` is stale.
 */
const config: CodegenConfig = {
  schema: clientSchemaSdl("schema.graphql"),
  documents: ["operations/**/*.graphql"],
  ignoreNoDocuments: false,
  importExtension: ".ts",
  generates: {
    "operations/generated/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: "sha256" },
      },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", JSON: "unknown" },
      },
    },
  },
};

export default config;
