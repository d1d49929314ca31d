import { builder } from "../builder.ts";

builder.queryType({ description: "Read namespaces, instances and search results." });
builder.mutationType({
  description: "Ask questions of the indexed content, and manage it (the `admin` scope).",
});
builder.subscriptionType({
  description: "Live answers, relayed as the upstream writes them, and indexing progress.",
});
