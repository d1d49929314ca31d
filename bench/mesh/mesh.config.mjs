// Composition for bench/gateway.ts --mesh: GraphQL Mesh (v1, `mesh-compose`) builds a
// supergraph from the OpenAPI description beside this file. The upstream URL and the token are
// left as Mesh interpolations, read from the serving process's environment on every request,
// so one composed supergraph serves any run's stub upstream.
import { defineConfig } from "@graphql-mesh/compose-cli";
import { loadOpenAPISubgraph } from "@omnigraph/openapi";

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph("AISearch", {
        source: "./aisearch-chat.openapi.yaml",
        endpoint: "{env.BENCH_UPSTREAM_URL}",
        operationHeaders: { Authorization: "Bearer {env.BENCH_TOKEN}" },
      }),
    },
  ],
});
