import { builder } from "../builder.ts";
import { badUserInput, onTarget } from "../graphql-errors.ts";
import type { SearchResult } from "../upstream/types.ts";
import { aiSearchOptionFields, toAiSearchOptions } from "./ai-search-options.ts";
import {
  type ChunkRecord,
  ChunkRef,
  type InstanceErrorRecord,
  InstanceErrorRef,
  toChunkRecords,
  toInstanceErrorRecords,
} from "./chunk.ts";
import { knownOrNull, QueryKind } from "./enums.ts";
import { ChatMessageInput, MAX_MESSAGE_TEXT, toWireMessages } from "./message.ts";
import { validateNamespace } from "./names.ts";

const SearchInput = builder.inputType("SearchInput", {
  description: "A multi-instance search. Give either `query` or `messages`.",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "The namespace to search." }),
    instanceIds: t.stringList({ required: true, description: "The instances to search." }),
    query: t.string({ description: "A plain search query." }),
    messages: t.field({
      type: [ChatMessageInput],
      description: "A conversation; its last user message is the query.",
    }),
    ...aiSearchOptionFields(t),
  }),
});

interface SearchRecord {
  namespace: string;
  result: SearchResult;
}

const SearchResultRef = builder.objectRef<SearchRecord>("SearchResult").implement({
  description: "Chunks retrieved from the instances of a namespace.",
  fields: (t) => ({
    chunks: t.field({
      type: [ChunkRef],
      description: "The chunks, best first.",
      resolve: ({ namespace, result }): ChunkRecord[] => toChunkRecords(namespace, result.chunks),
    }),
    errors: t.field({
      type: [InstanceErrorRef],
      description: "Instances that failed; the others still answered.",
      resolve: ({ namespace, result }): InstanceErrorRecord[] =>
        toInstanceErrorRecords(namespace, result.errors),
    }),
    searchQuery: t.string({
      nullable: true,
      description: "The query actually run (after any rewrite).",
      resolve: ({ result }) => result.search_query ?? null,
    }),
    queryKind: t.field({
      type: QueryKind,
      nullable: true,
      description: "What kind of query ran.",
      resolve: ({ result }) =>
        knownOrNull(["text", "image", "multimodal"] as const, result.query_kind),
    }),
  }),
});

builder.queryFields((t) => ({
  search: t.field({
    type: SearchResultRef,
    description:
      "Retrieves chunks from several instances of a namespace in parallel, without generating an answer.",
    args: { input: t.arg({ type: SearchInput, required: true, description: "What to search." }) },
    resolve: async (_root, { input }, context) => {
      const namespace = validateNamespace(input.namespace);
      const hasQuery = input.query != null;
      if (hasQuery === (input.messages != null)) {
        throw badUserInput("give exactly one of `query` or `messages`", "query");
      }
      if (hasQuery && (input.query!.trim() === "" || input.query!.length > MAX_MESSAGE_TEXT)) {
        throw badUserInput(`\`query\` must hold 1 to ${MAX_MESSAGE_TEXT} characters`, "query");
      }
      const body = {
        ...(hasQuery ? { query: input.query! } : { messages: toWireMessages(input.messages!) }),
        ai_search_options: toAiSearchOptions(input.instanceIds, input),
      };
      const result = await onTarget(
        { namespace },
        context.upstream.searchNamespace(namespace, body),
      );
      return { namespace, result };
    },
  }),
}));
