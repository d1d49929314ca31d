/**
 * What the benches ask, in one place: the question, the upstream body the gateway builds from
 * it, and the GraphQL documents, so every path asks the upstream for exactly the same work.
 */

export const BENCH_ACCOUNT = "bench";
export const CHAT_PATH = `/accounts/${BENCH_ACCOUNT}/ai-search/namespaces/default/chat/completions`;

export const INPUT = {
  instanceIds: ["gateway-docs", "ai-search-concepts"],
  messages: [{ role: "USER", content: "How are chunks ranked and fused?" }],
};

/** The upstream body the gateway builds from INPUT (see toChatCompletionRequest). */
export const DIRECT_BODY = {
  messages: [{ role: "user", content: INPUT.messages[0]!.content }],
  ai_search_options: { instance_ids: INPUT.instanceIds },
};

// What a client typically renders: the answer and its sources. Not `Chunk.instance`, whose
// DataLoader would add upstream calls that the direct path does not make.
export const ASK = `mutation Ask($input: ChatCompletionInput!) { chatCompletion(input: $input) {
  id model content chunks { instanceId score text item { key } } errors { instanceId message } } }`;

export const STREAM = `subscription Stream($input: ChatCompletionInput!) { chatCompletionStream(input: $input) {
  __typename ... on ChatCompletionChunksEvent { chunks { instanceId score } }
  ... on ChatCompletionDeltaEvent { sequence content }
  ... on ChatCompletionDoneEvent { completion { id } } ... on ChatCompletionFailedEvent { code } } }`;

/** The stub's deltas start with their index: "7 of the answer ". */
export const deltaIndex = (content: string) => Number.parseInt(content, 10);

export interface StreamEventShape {
  __typename?: string;
  sequence?: number;
  content?: string;
  code?: string;
}

/** The event inside a graphql-ws `next` payload or an SSE `next` event's data. */
export const streamEvent = (result: unknown): StreamEventShape | undefined =>
  (result as { data?: { chatCompletionStream?: StreamEventShape } }).data?.chatCompletionStream;
