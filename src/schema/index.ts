import { builder } from "../builder.ts";
import { isolateEntityFailures } from "./entities.ts";
import "./scalars.ts";
import "./enums.ts";
import "./root.ts";
// Instance before Namespace: the order their root fields are printed in schema.graphql.
import "./instance.ts";
import "./namespace.ts";
import "./node.ts";
import "./chunk.ts";
import "./message.ts";
import "./ai-search-options.ts";
import "./search.ts";
import "./chat-completion.ts";
import "./chat-completion-stream.ts";
// Management: mutations beside the types they change, then what watches them.
import "./user-errors.ts";
import "./namespace-management.ts";
import "./instance-management.ts";
import "./item.ts";
import "./item-mutations.ts";
import "./job.ts";
import "./indexing-progress.ts";

/**
 * The served schema is the Federation 2 subgraph schema, so the same graph works on its own and
 * composed into a supergraph.
 */
export const schema = isolateEntityFailures(
  builder.toSubGraphSchema({
    linkUrl: "https://specs.apollo.dev/federation/v2.6",
    federationDirectives: ["@key", "@shareable"],
  }),
);
