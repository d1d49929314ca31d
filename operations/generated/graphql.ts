/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** Favour chunks by a metadata field. */
export type BoostByInput = {
  /** How the field boosts. */
  direction?: BoostDirection | null | undefined;
  /** The metadata field. */
  field: string;
};

/** How a metadata field boosts retrieval scores. */
export type BoostDirection =
  /** Lower values rank higher. */
  | 'ASC'
  /** Higher values rank higher. */
  | 'DESC'
  /** Chunks that have the field rank higher. */
  | 'EXISTS'
  /** Chunks without the field rank higher. */
  | 'NOT_EXISTS';

/** Reuse of answers to similar earlier questions. */
export type CacheOptionsInput = {
  /** Use the answer cache. */
  enabled?: boolean | null | undefined;
  /** How similar a question must be. */
  threshold?: CacheThreshold | null | undefined;
};

/** How similar a new question must be to a cached one to reuse its answer. */
export type CacheThreshold =
  /** Loosest reuse. */
  | 'ANYTHING_GOES'
  /** Small wording differences. */
  | 'CLOSE_ENOUGH'
  /** Same intent, other words. */
  | 'FLEXIBLE_FRIEND'
  /** Near-identical only. */
  | 'SUPER_STRICT_MATCH';

/** A question for the instances of a namespace, with retrieval options. */
export type ChatCompletionInput = {
  /** Answer cache. */
  cache?: CacheOptionsInput | null | undefined;
  /** The instances to retrieve from, in parallel. */
  instanceIds: Array<string>;
  /** The conversation so far; the last user message is the question. */
  messages: Array<ChatMessageInput>;
  /** The generating model; the instance's default when omitted. */
  model?: string | null | undefined;
  /** The namespace to ask. */
  namespace?: string | null | undefined;
  /** Query rewriting. */
  queryRewrite?: QueryRewriteInput | null | undefined;
  /** Reranking. */
  reranking?: RerankingInput | null | undefined;
  /** Retrieval. */
  retrieval?: RetrievalInput | null | undefined;
};

/** One part of a multi-part message. Set the field that matches `type`. */
export type ChatContentPartInput = {
  /** For FILE parts. */
  file?: ChatFileInput | null | undefined;
  /** For IMAGE_URL parts. */
  imageUrl?: string | null | undefined;
  /** For TEXT parts. */
  text?: string | null | undefined;
  /** Which field is set. */
  type: ContentPartType;
};

/** A file attached to a message: its contents inline or a previously uploaded id. */
export type ChatFileInput = {
  /** The contents, base64 or a data URL. */
  fileData?: string | null | undefined;
  /** The id of an already uploaded file. */
  fileId?: string | null | undefined;
  /** The file's name. */
  filename: string;
};

/** A message of the conversation. Give either `content` or `parts`. */
export type ChatMessageInput = {
  /** The message as plain text. */
  content?: string | null | undefined;
  /** The message as parts: text, images, files. */
  parts?: Array<ChatContentPartInput> | null | undefined;
  /** Who wrote it. */
  role: ChatRole;
};

/** Who wrote a chat message. */
export type ChatRole =
  /** The model's answer. */
  | 'ASSISTANT'
  /** Instructions from the application developer. */
  | 'DEVELOPER'
  /** Instructions that frame the conversation. */
  | 'SYSTEM'
  /** Output of a tool call. */
  | 'TOOL'
  /** The person asking. */
  | 'USER';

/** The kind of a message content part. */
export type ContentPartType =
  /** An attached file, in `file`. */
  | 'FILE'
  /** An image by URL (or data URL), in `imageUrl`. */
  | 'IMAGE_URL'
  /** Plain text, in `text`. */
  | 'TEXT';

/** How results from several retrieval methods or instances are merged. */
export type FusionMethod =
  /** Keep each chunk's best score. */
  | 'MAX'
  /** Reciprocal-rank fusion: merge by rank, not raw score. */
  | 'RRF';

/** Where an instance's content comes from. */
export type InstanceType =
  /** Objects in an R2 bucket. */
  | 'R2'
  /** Pages crawled from a website. */
  | 'WEB_CRAWLER';

/** Whether keyword search needs every term or any term. */
export type KeywordMatchMode =
  /** Every query term must match. */
  | 'AND'
  /** Any query term may match. */
  | 'OR';

/** One condition on one metadata field; a chunk must meet every operator given. Several conditions in `filters` must all hold. */
export type MetadataFilterInput = {
  /** Equal to ($eq). */
  eq?: unknown;
  /** The metadata field: `folder` (e.g. `guides/`), `filename`, `timestamp`, or a custom field of the instance. */
  field: string;
  /** Greater than ($gt). */
  gt?: unknown;
  /** Greater than or equal to ($gte). With `lt`, a range: `{ field: "folder", gte: "docs/", lt: "docs0" }` is "starts with docs/". */
  gte?: unknown;
  /** Equal to one of these ($in). */
  in?: Array<unknown> | null | undefined;
  /** Less than ($lt). */
  lt?: unknown;
  /** Less than or equal to ($lte). */
  lte?: unknown;
  /** Not equal to ($ne). */
  ne?: unknown;
  /** Equal to none of these ($nin). */
  nin?: Array<unknown> | null | undefined;
};

/** What kind of query a search ran. */
export type QueryKind =
  /** An image query. */
  | 'IMAGE'
  /** Text and images together. */
  | 'MULTIMODAL'
  /** A text query. */
  | 'TEXT';

/** Rewriting the question into a better search query before retrieval. */
export type QueryRewriteInput = {
  /** Rewrite the query. */
  enabled?: boolean | null | undefined;
  /** Model that rewrites. */
  model?: string | null | undefined;
  /** Instructions for the rewrite. */
  rewritePrompt?: string | null | undefined;
};

/** Reordering retrieved chunks with a reranking model. */
export type RerankingInput = {
  /** Rerank the chunks. */
  enabled?: boolean | null | undefined;
  /** Drop chunks the reranker scores below this (0–1). */
  matchThreshold?: number | null | undefined;
  /** Reranking model, e.g. `@cf/baai/bge-reranker-base`. */
  model?: string | null | undefined;
};

/** How chunks are retrieved from each instance. */
export type RetrievalInput = {
  /** Metadata boosts. */
  boostBy?: Array<BoostByInput> | null | undefined;
  /** Neighbouring chunks to add to each hit's text (0–3, as Cloudflare allows). */
  contextExpansion?: number | null | undefined;
  /** Metadata conditions, all of which must hold, e.g. `[{ field: "folder", eq: "guides/" }, { field: "timestamp", gte: 1735689600 }]`. */
  filters?: Array<MetadataFilterInput> | null | undefined;
  /** How results merge. */
  fusionMethod?: FusionMethod | null | undefined;
  /** All terms or any term. */
  keywordMatchMode?: KeywordMatchMode | null | undefined;
  /** Minimum score for a chunk (0–1). */
  matchThreshold?: number | null | undefined;
  /** Most chunks to return (1–50). */
  maxNumResults?: number | null | undefined;
  /** Return the matching chunks' metadata (item, scores) without their text. */
  metadataOnly?: boolean | null | undefined;
  /** Keyword, vector or both. */
  retrievalType?: RetrievalType | null | undefined;
  /** Answer even when retrieval fails. */
  returnOnFailure?: boolean | null | undefined;
};

/** Which index a retrieval uses. */
export type RetrievalType =
  /** Both, merged by the fusion method. */
  | 'HYBRID'
  /** BM25 keyword search. */
  | 'KEYWORD'
  /** Semantic search over embeddings. */
  | 'VECTOR';

/** A multi-instance search. Give either `query` or `messages`. */
export type SearchInput = {
  /** Answer cache. */
  cache?: CacheOptionsInput | null | undefined;
  /** The instances to search. */
  instanceIds: Array<string>;
  /** A conversation; its last user message is the query. */
  messages?: Array<ChatMessageInput> | null | undefined;
  /** The namespace to search. */
  namespace?: string | null | undefined;
  /** A plain search query. */
  query?: string | null | undefined;
  /** Query rewriting. */
  queryRewrite?: QueryRewriteInput | null | undefined;
  /** Reranking. */
  reranking?: RerankingInput | null | undefined;
  /** Retrieval. */
  retrieval?: RetrievalInput | null | undefined;
};

export type AskStreamSubscriptionVariables = Exact<{
  input: ChatCompletionInput;
}>;


export type AskStreamSubscription = { chatCompletionStream:
    | { __typename: 'ChatCompletionChunksEvent', streamId: string, sequence: number, chunks: Array<{ chunkId: string, instanceId: string, score: number, item: { key: string } | null }>, errors: Array<{ instanceId: string, message: string }> }
    | { __typename: 'ChatCompletionDeltaEvent', streamId: string, sequence: number, content: string, finishReason: string | null }
    | { __typename: 'ChatCompletionDoneEvent', streamId: string, sequence: number, completion: { id: string | null, model: string | null, content: string | null, chunks: Array<{ instanceId: string }> } }
    | { __typename: 'ChatCompletionFailedEvent', streamId: string, sequence: number, code: string, message: string, retryable: boolean }
   };

export type ResumeAskStreamSubscriptionVariables = Exact<{
  streamId: string | number;
  afterSequence: number;
}>;


export type ResumeAskStreamSubscription = { resumeChatCompletionStream:
    | { __typename: 'ChatCompletionChunksEvent', streamId: string, sequence: number, chunks: Array<{ chunkId: string, instanceId: string, score: number, item: { key: string } | null }>, errors: Array<{ instanceId: string, message: string }> }
    | { __typename: 'ChatCompletionDeltaEvent', streamId: string, sequence: number, content: string, finishReason: string | null }
    | { __typename: 'ChatCompletionDoneEvent', streamId: string, sequence: number, completion: { id: string | null, model: string | null, content: string | null, chunks: Array<{ instanceId: string }> } }
    | { __typename: 'ChatCompletionFailedEvent', streamId: string, sequence: number, code: string, message: string, retryable: boolean }
   };

export type CancelAskStreamMutationVariables = Exact<{
  streamId: string | number;
}>;


export type CancelAskStreamMutation = { cancelChatCompletionStream: boolean };

type AskStreamEvent_ChatCompletionChunksEvent_Fragment = { __typename: 'ChatCompletionChunksEvent', streamId: string, sequence: number, chunks: Array<{ chunkId: string, instanceId: string, score: number, item: { key: string } | null }>, errors: Array<{ instanceId: string, message: string }> };

type AskStreamEvent_ChatCompletionDeltaEvent_Fragment = { __typename: 'ChatCompletionDeltaEvent', streamId: string, sequence: number, content: string, finishReason: string | null };

type AskStreamEvent_ChatCompletionDoneEvent_Fragment = { __typename: 'ChatCompletionDoneEvent', streamId: string, sequence: number, completion: { id: string | null, model: string | null, content: string | null, chunks: Array<{ instanceId: string }> } };

type AskStreamEvent_ChatCompletionFailedEvent_Fragment = { __typename: 'ChatCompletionFailedEvent', streamId: string, sequence: number, code: string, message: string, retryable: boolean };

export type AskStreamEventFragment =
  | AskStreamEvent_ChatCompletionChunksEvent_Fragment
  | AskStreamEvent_ChatCompletionDeltaEvent_Fragment
  | AskStreamEvent_ChatCompletionDoneEvent_Fragment
  | AskStreamEvent_ChatCompletionFailedEvent_Fragment
;

export type AskMutationVariables = Exact<{
  input: ChatCompletionInput;
}>;


export type AskMutation = { chatCompletion: { id: string | null, model: string | null, object: string | null, content: string | null, choices: Array<{ index: number, finishReason: string | null, message: { role: ChatRole | null, content: string | null } }>, chunks: Array<{ chunkId: string, instanceId: string, score: number, text: string, type: string, item: { key: string, metadata: unknown, timestamp: string | null } | null, scoringDetails: { fusionMethod: FusionMethod | null, keywordRank: number | null, keywordScore: number | null } | null }>, errors: Array<{ instanceId: string, message: string, instance: { instanceId: string } | null }> } };

export type ChunkFieldsFragment = { chunkId: string, instanceId: string, score: number, text: string, type: string, item: { key: string, metadata: unknown, timestamp: string | null } | null, scoringDetails: { fusionMethod: FusionMethod | null, keywordRank: number | null, keywordScore: number | null } | null };

export type ChatPageNamespacesQueryVariables = Exact<{
  namespaces: number;
  instances: number;
}>;


export type ChatPageNamespacesQuery = { namespaces: { nodes: Array<{ id: string, name: string, description: string | null, instances: { nodes: Array<{ id: string, instanceId: string, status: string | null }> } }> } };

export type ChatPageAnswerSubscriptionVariables = Exact<{
  input: ChatCompletionInput;
}>;


export type ChatPageAnswerSubscription = { chatCompletionStream:
    | { __typename: 'ChatCompletionChunksEvent', streamId: string, sequence: number, chunks: Array<{ chunkId: string, instanceId: string, score: number, text: string, item: { key: string } | null }>, errors: Array<{ instanceId: string, message: string }> }
    | { __typename: 'ChatCompletionDeltaEvent', streamId: string, sequence: number, content: string }
    | { __typename: 'ChatCompletionDoneEvent', streamId: string, sequence: number, completion: { id: string | null, model: string | null, content: string | null } }
    | { __typename: 'ChatCompletionFailedEvent', streamId: string, sequence: number, code: string, message: string, retryable: boolean }
   };

export type ChatPageResumeSubscriptionVariables = Exact<{
  streamId: string | number;
  afterSequence: number;
}>;


export type ChatPageResumeSubscription = { resumeChatCompletionStream:
    | { __typename: 'ChatCompletionChunksEvent', streamId: string, sequence: number, chunks: Array<{ chunkId: string, instanceId: string, score: number, text: string, item: { key: string } | null }>, errors: Array<{ instanceId: string, message: string }> }
    | { __typename: 'ChatCompletionDeltaEvent', streamId: string, sequence: number, content: string }
    | { __typename: 'ChatCompletionDoneEvent', streamId: string, sequence: number, completion: { id: string | null, model: string | null, content: string | null } }
    | { __typename: 'ChatCompletionFailedEvent', streamId: string, sequence: number, code: string, message: string, retryable: boolean }
   };

export type ChatPageCancelMutationVariables = Exact<{
  streamId: string | number;
}>;


export type ChatPageCancelMutation = { cancelChatCompletionStream: boolean };

type ChatPageEvent_ChatCompletionChunksEvent_Fragment = { __typename: 'ChatCompletionChunksEvent', streamId: string, sequence: number, chunks: Array<{ chunkId: string, instanceId: string, score: number, text: string, item: { key: string } | null }>, errors: Array<{ instanceId: string, message: string }> };

type ChatPageEvent_ChatCompletionDeltaEvent_Fragment = { __typename: 'ChatCompletionDeltaEvent', streamId: string, sequence: number, content: string };

type ChatPageEvent_ChatCompletionDoneEvent_Fragment = { __typename: 'ChatCompletionDoneEvent', streamId: string, sequence: number, completion: { id: string | null, model: string | null, content: string | null } };

type ChatPageEvent_ChatCompletionFailedEvent_Fragment = { __typename: 'ChatCompletionFailedEvent', streamId: string, sequence: number, code: string, message: string, retryable: boolean };

export type ChatPageEventFragment =
  | ChatPageEvent_ChatCompletionChunksEvent_Fragment
  | ChatPageEvent_ChatCompletionDeltaEvent_Fragment
  | ChatPageEvent_ChatCompletionDoneEvent_Fragment
  | ChatPageEvent_ChatCompletionFailedEvent_Fragment
;

export type ChatPageChunkFragment = { chunkId: string, instanceId: string, score: number, text: string, item: { key: string } | null };

export type NamespacesQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  instancesFirst?: number | null | undefined;
}>;


export type NamespacesQuery = { namespaces: { totalCount: number | null, pageInfo: { hasNextPage: boolean, endCursor: string | null }, edges: Array<{ cursor: string, node: { id: string, name: string, description: string | null, createdAt: string, instances: { totalCount: number | null, nodes: Array<{ id: string, instanceId: string, status: string | null, chunkSize: number | null }> } } }> } };

export type InstanceQueryVariables = Exact<{
  namespace: string;
  id: string;
}>;


export type InstanceQuery = { instance: { id: string, instanceId: string, createdAt: string, modifiedAt: string, type: InstanceType | null, fusionMethod: FusionMethod | null, maxNumResults: number | null, indexMethod: { keyword: boolean, vector: boolean } | null, namespace: { name: string }, stats: { completed: number | null, engine: { r2: { objectCount: number, payloadSizeBytes: number } | null } | null } | null } | null };

export type SearchQueryVariables = Exact<{
  input: SearchInput;
}>;


export type SearchQuery = { search: { searchQuery: string | null, queryKind: QueryKind | null, chunks: Array<{ chunkId: string, instanceId: string, score: number, text: string, instance: { instanceId: string } | null, scoringDetails: { fusionMethod: FusionMethod | null, keywordRank: number | null, keywordScore: number | null } | null }>, errors: Array<{ instanceId: string, message: string }> } };

export const AskStreamEventFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AskStreamEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionStreamEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionChunksEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDeltaEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"finishReason"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDoneEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"completion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}}]}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionFailedEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}}]}}]} as unknown as DocumentNode<AskStreamEventFragment, unknown>;
export const ChunkFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ChunkFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Chunk"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}}]}},{"kind":"Field","name":{"kind":"Name","value":"scoringDetails"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"fusionMethod"}},{"kind":"Field","name":{"kind":"Name","value":"keywordRank"}},{"kind":"Field","name":{"kind":"Name","value":"keywordScore"}}]}}]}}]} as unknown as DocumentNode<ChunkFieldsFragment, unknown>;
export const ChatPageChunkFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ChatPageChunk"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Chunk"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}}]}}]} as unknown as DocumentNode<ChatPageChunkFragment, unknown>;
export const ChatPageEventFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ChatPageEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionStreamEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionChunksEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ChatPageChunk"}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDeltaEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"content"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDoneEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"completion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"content"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionFailedEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ChatPageChunk"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Chunk"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}}]}}]} as unknown as DocumentNode<ChatPageEventFragment, unknown>;
export const AskStreamDocument = {"__meta__":{"hash":"sha256:9bdd2580206bacbba5ef57dc0678f4c095fde8fa891ee30044febf5cfc6885f4"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"AskStream"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chatCompletionStream"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AskStreamEvent"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AskStreamEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionStreamEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionChunksEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDeltaEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"finishReason"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDoneEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"completion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}}]}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionFailedEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}}]}}]} as unknown as DocumentNode<AskStreamSubscription, AskStreamSubscriptionVariables>;
export const ResumeAskStreamDocument = {"__meta__":{"hash":"sha256:20b6b0e5e454fac9d876c7db5358a03ee234b8ea28a806cc07c954e1dedd3675"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"ResumeAskStream"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"streamId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"afterSequence"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"resumeChatCompletionStream"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"streamId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"streamId"}}},{"kind":"Argument","name":{"kind":"Name","value":"afterSequence"},"value":{"kind":"Variable","name":{"kind":"Name","value":"afterSequence"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"AskStreamEvent"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"AskStreamEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionStreamEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionChunksEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDeltaEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"finishReason"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDoneEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"completion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}}]}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionFailedEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}}]}}]} as unknown as DocumentNode<ResumeAskStreamSubscription, ResumeAskStreamSubscriptionVariables>;
export const CancelAskStreamDocument = {"__meta__":{"hash":"sha256:3eb3d3bd34926588cc3c9146f0c34c72fe05fc9e99c4bca5bda43eac59b66131"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelAskStream"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"streamId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelChatCompletionStream"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"streamId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"streamId"}}}]}]}}]} as unknown as DocumentNode<CancelAskStreamMutation, CancelAskStreamMutationVariables>;
export const AskDocument = {"__meta__":{"hash":"sha256:3d76adf51ea6d29bca7adc4967df91018b098a97338ef7babb5e5afb2cea6c74"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Ask"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chatCompletion"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"object"}},{"kind":"Field","name":{"kind":"Name","value":"content"}},{"kind":"Field","name":{"kind":"Name","value":"choices"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"finishReason"}},{"kind":"Field","name":{"kind":"Name","value":"message"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"content"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ChunkFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"instance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ChunkFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Chunk"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"timestamp"}}]}},{"kind":"Field","name":{"kind":"Name","value":"scoringDetails"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"fusionMethod"}},{"kind":"Field","name":{"kind":"Name","value":"keywordRank"}},{"kind":"Field","name":{"kind":"Name","value":"keywordScore"}}]}}]}}]} as unknown as DocumentNode<AskMutation, AskMutationVariables>;
export const ChatPageNamespacesDocument = {"__meta__":{"hash":"sha256:a33deaf5c0094fadf787d43447dbc9630c2d02b6fc1c795e65c537255d19b5fd"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ChatPageNamespaces"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"namespaces"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"instances"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"namespaces"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"namespaces"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"instances"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"instances"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<ChatPageNamespacesQuery, ChatPageNamespacesQueryVariables>;
export const ChatPageAnswerDocument = {"__meta__":{"hash":"sha256:1de124cab41e751c50a812a94c056846c437b500924aa9c8bbd6ddaba48fb248"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"ChatPageAnswer"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chatCompletionStream"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ChatPageEvent"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ChatPageChunk"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Chunk"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ChatPageEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionStreamEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionChunksEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ChatPageChunk"}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDeltaEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"content"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDoneEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"completion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"content"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionFailedEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}}]}}]} as unknown as DocumentNode<ChatPageAnswerSubscription, ChatPageAnswerSubscriptionVariables>;
export const ChatPageResumeDocument = {"__meta__":{"hash":"sha256:0509371abe7a8a4349865d550f73b51215e716f00a0eab00dcb1786fc4deb925"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"ChatPageResume"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"streamId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"afterSequence"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"resumeChatCompletionStream"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"streamId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"streamId"}}},{"kind":"Argument","name":{"kind":"Name","value":"afterSequence"},"value":{"kind":"Variable","name":{"kind":"Name","value":"afterSequence"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ChatPageEvent"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ChatPageChunk"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Chunk"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"item"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"key"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"ChatPageEvent"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionStreamEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"__typename"}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionChunksEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"ChatPageChunk"}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDeltaEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"content"}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionDoneEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"completion"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"content"}}]}}]}},{"kind":"InlineFragment","typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"ChatCompletionFailedEvent"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"streamId"}},{"kind":"Field","name":{"kind":"Name","value":"sequence"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"retryable"}}]}}]}}]} as unknown as DocumentNode<ChatPageResumeSubscription, ChatPageResumeSubscriptionVariables>;
export const ChatPageCancelDocument = {"__meta__":{"hash":"sha256:91d83b083ccfb77c37909aa8c83cba344daaa87b5ebf93d1eaf86a38ad13b856"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ChatPageCancel"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"streamId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelChatCompletionStream"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"streamId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"streamId"}}}]}]}}]} as unknown as DocumentNode<ChatPageCancelMutation, ChatPageCancelMutationVariables>;
export const NamespacesDocument = {"__meta__":{"hash":"sha256:6afd42df46d5103476bf337b479f06127d130c08200833722d07bbb9d7d23e6c"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Namespaces"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"instancesFirst"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"namespaces"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"instances"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"instancesFirst"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"chunkSize"}}]}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<NamespacesQuery, NamespacesQueryVariables>;
export const InstanceDocument = {"__meta__":{"hash":"sha256:975c8b22bbecdcc91bcd725b20d89fef351601ba5a29440809f5902b65d3f7a0"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Instance"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"namespace"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instance"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"namespace"},"value":{"kind":"Variable","name":{"kind":"Name","value":"namespace"}}},{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"modifiedAt"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"fusionMethod"}},{"kind":"Field","name":{"kind":"Name","value":"maxNumResults"}},{"kind":"Field","name":{"kind":"Name","value":"indexMethod"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"keyword"}},{"kind":"Field","name":{"kind":"Name","value":"vector"}}]}},{"kind":"Field","name":{"kind":"Name","value":"namespace"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"stats"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"completed"}},{"kind":"Field","name":{"kind":"Name","value":"engine"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"r2"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"objectCount"}},{"kind":"Field","name":{"kind":"Name","value":"payloadSizeBytes"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<InstanceQuery, InstanceQueryVariables>;
export const SearchDocument = {"__meta__":{"hash":"sha256:61b3413c361292cdc562231d59d27f477c7453f71354b9ee4d3a76113063acf5"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Search"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"SearchInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"search"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"searchQuery"}},{"kind":"Field","name":{"kind":"Name","value":"queryKind"}},{"kind":"Field","name":{"kind":"Name","value":"chunks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"chunkId"}},{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"score"}},{"kind":"Field","name":{"kind":"Name","value":"text"}},{"kind":"Field","name":{"kind":"Name","value":"instance"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}}]}},{"kind":"Field","name":{"kind":"Name","value":"scoringDetails"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"fusionMethod"}},{"kind":"Field","name":{"kind":"Name","value":"keywordRank"}},{"kind":"Field","name":{"kind":"Name","value":"keywordScore"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"instanceId"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<SearchQuery, SearchQueryVariables>;