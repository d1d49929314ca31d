import type { CodegenConfig } from "@graphql-codegen/cli";

/**
 * Typed documents for the example operations in `operations/`, plus a persisted-documents
 * manifest (hash → document) that the gateway can use as its list of trusted operations.
 * Reads the committed `schema.graphql`, so it runs without starting the gateway.
 */
const config: CodegenConfig = {
  schema: ["schema.graphql", "operations/federation-directives.graphql"],
  documents: ["operations/**/*.graphql"],
  ignoreNoDocuments: false,
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
