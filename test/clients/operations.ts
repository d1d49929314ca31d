/**
 * What the real-client tests send and check, written once for every client library: the
 * operations (with the fields a frontend reads), the inputs, and the checks on a streamed answer.
 */
import { introspectionFromSchema } from "graphql";
import { expect } from "vitest";
import { schema } from "../../src/schema/index.ts";

export const SEARCH = /* GraphQL */ `
  query Scores($input: SearchInput!) {
    search(input: $input) {
      searchQuery
      chunks {
        chunkId
        instanceId
        score
        scoringDetails { keywordRank keywordScore }
        instance { id instanceId }
      }
    }
  }
`;

export const NAMESPACES = /* GraphQL */ `
  query Pages($first: Int!, $after: String) {
    namespaces(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id name } }
    }
  }
`;

export const INSTANCES = /* GraphQL */ `
  query InstancePages($first: Int!, $after: String) {
    namespace(name: "default") {
      id
      instances(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { cursor node { id instanceId } }
      }
    }
  }
`;

export const ASK = /* GraphQL */ `
  mutation Ask($input: ChatCompletionInput!) {
    chatCompletion(input: $input) { content chunks { chunkId score } }
  }
`;

export const STREAM = /* GraphQL */ `
  subscription Stream($input: ChatCompletionInput!) {
    chatCompletionStream(input: $input) {
      __typename
      ... on ChatCompletionChunksEvent { chunks { chunkId score instance { id instanceId } } }
      ... on ChatCompletionDeltaEvent { sequence content }
      ... on ChatCompletionDoneEvent { completion { content chunks { chunkId score } } }
      ... on ChatCompletionFailedEvent { code message }
    }
  }
`;

/**
 * Two searches of the local corpus that both return chunk `a755bc…` (graphql-api.md), ranked
 * first by one and second by the other, so its score differs between them.
 */
export const searchInput = (query: "subscriptions" | "rate limit") => ({
  input: { instanceIds: ["gateway-docs"], query, retrieval: { maxNumResults: 4 } },
});

export const askInput = (question = "How are subscriptions streamed?") => ({
  input: { instanceIds: ["gateway-docs"], messages: [{ role: "USER", content: question }] },
});

export interface ScoredChunk {
  chunkId: string;
  score: number;
}

/** The chunks both results hold whose scores differ: what a merging cache would corrupt. */
export function sharedChunksWithOtherScores(a: ScoredChunk[], b: ScoredChunk[]): string[] {
  return a
    .filter((x) => b.some((y) => y.chunkId === x.chunkId && y.score !== x.score))
    .map((x) => x.chunkId);
}

interface StreamEvent {
  __typename: string;
  content?: string;
  sequence?: number;
  completion?: { content: string | null };
}

/** A whole stream's events: chunks first, deltas in sequence, and a done whose text they make. */
export function expectCompleteAnswer(events: readonly StreamEvent[]) {
  expect(events[0]?.__typename).toBe("ChatCompletionChunksEvent");
  const deltas = events.filter((e) => e.__typename === "ChatCompletionDeltaEvent");
  expect(deltas.length).toBeGreaterThan(1);
  // Every event has its place in the stream (what a resume continues from): the chunks event is
  // 0, so the deltas follow from 1.
  expect(deltas.map((d) => d.sequence)).toEqual(deltas.map((_, i) => i + 1));
  const done = events.at(-1);
  expect(done?.__typename).toBe("ChatCompletionDoneEvent");
  expect(deltas.map((d) => d.content).join("")).toBe(done!.completion!.content);
}

/** The schema a client is given (urql's Graphcache), as introspection would answer it. */
export const clientIntrospection = () => introspectionFromSchema(schema);

/**
 * Apollo's `possibleTypes` for the schema's unions and interfaces, as its docs have apps
 * generate from introspection: without it, fragments on a union's members cannot be matched.
 */
export function possibleTypes(): Record<string, string[]> {
  const entries = clientIntrospection()
    .__schema.types.filter((type) => type.kind === "UNION" || type.kind === "INTERFACE")
    .map((type) => [
      type.name,
      ("possibleTypes" in type ? type.possibleTypes : []).map((t) => t.name),
    ]);
  return Object.fromEntries(entries);
}

/**
 * Graphcache `keys` for the schema's object types without an `id`: `null`, the value its
 * warning asks for when embedding them is intended (it embeds them either way). Derived from
 * the schema, so a type that gains an `id` (a `Chunk` with one would) is keyed by it again.
 */
export function keylessTypes(): Record<string, () => null> {
  const names = clientIntrospection()
    .__schema.types.filter(
      (type) =>
        type.kind === "OBJECT" &&
        !type.name.startsWith("__") &&
        !type.fields.some((field) => field.name === "id" || field.name === "_id"),
    )
    .map((type) => type.name);
  return Object.fromEntries(names.map((name) => [name, () => null]));
}
