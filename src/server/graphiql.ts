import type { GraphiQLOptions } from "graphql-yoga";

/** The first thing a newcomer runs: printed at start-up and preloaded in GraphiQL. */
export const EXAMPLE_MUTATION = `mutation Ask {
  chatCompletion(input: {
    namespace: "default"
    instanceIds: ["gateway-docs", "ai-search-concepts"]
    messages: [{ role: USER, content: "How does the gateway stream answers?" }]
  }) {
    model
    content
    chunks { instanceId score item { key } scoringDetails { keywordRank keywordScore fusionMethod } }
    errors { instanceId message }
  }
}`;

export const graphiqlOptions: GraphiQLOptions = {
  title: "AI Search GraphQL gateway",
  subscriptionsProtocol: "WS",
  defaultQuery: EXAMPLE_MUTATION,
};
