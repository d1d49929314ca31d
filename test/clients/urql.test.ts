/**
 * urql against the gateway over real sockets: fetchExchange for queries and mutations,
 * graphql-ws (subscriptionExchange) for subscriptions, and Graphcache given the schema, as
 * its docs recommend, so it knows which types are entities. Graphcache normalises every type
 * with an `id`; a retrieved chunk has none, so it stays embedded in the result it came with
 * (`keylessTypes` only says so, which silences Graphcache's warning about it).
 */
import { Client, fetchExchange, gql, subscriptionExchange } from "@urql/core";
import { cacheExchange, type ResolverConfig } from "@urql/exchange-graphcache";
import { relayPagination } from "@urql/exchange-graphcache/extras";
import { describe, expect, it } from "vitest";
import { pipe, subscribe } from "wonka";
import { useClientGateway } from "./harness.ts";
import {
  ASK,
  askInput,
  clientIntrospection,
  expectCompleteAnswer,
  INSTANCES,
  keylessTypes,
  type ScoredChunk,
  SEARCH,
  STREAM,
  searchInput,
  sharedChunksWithOtherScores,
} from "./operations.ts";

const gateway = useClientGateway();

/** urql as an app sets it up with Graphcache; `resolvers` adds a field's pagination. */
function urql(resolvers?: ResolverConfig) {
  const socket = gateway.socket();
  return new Client({
    url: gateway.harness.gateway.graphqlUrl,
    exchanges: [
      cacheExchange({ schema: clientIntrospection(), keys: keylessTypes(), resolvers }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({
            unsubscribe: socket.subscribe({ ...request, query: request.query ?? "" }, sink),
          }),
        }),
      }),
    ],
  });
}

interface SearchData {
  search: { chunks: ScoredChunk[] };
}
const SEARCH_DOC = gql<SearchData>(SEARCH);

describe("urql with Graphcache given the schema", () => {
  it("keeps each search's own scores for a chunk both return", async () => {
    const client = urql();
    const first = await client.query(SEARCH_DOC, searchInput("subscriptions")).toPromise();
    const second = await client.query(SEARCH_DOC, searchInput("rate limit")).toPromise();
    expect(first.error).toBeUndefined();
    expect(second.error).toBeUndefined();
    const shared = sharedChunksWithOtherScores(
      first.data!.search.chunks,
      second.data!.search.chunks,
    );
    expect(shared.length).toBeGreaterThan(0);
    // Read back from the cache alone: each result still holds its own scores.
    const cached = client.readQuery(SEARCH_DOC, searchInput("subscriptions"), {
      requestPolicy: "cache-only",
    });
    expect(cached?.data).toEqual(first.data);
    const again = client.readQuery(SEARCH_DOC, searchInput("rate limit"), {
      requestPolicy: "cache-only",
    });
    expect(again?.data).toEqual(second.data);
    expect(gateway.searches()).toHaveLength(2);
  });

  it("serves a repeated query from the cache", async () => {
    const client = urql();
    const first = await client.query(SEARCH_DOC, searchInput("subscriptions")).toPromise();
    expect(gateway.searches()).toHaveLength(1);
    const repeated = await client.query(SEARCH_DOC, searchInput("subscriptions")).toPromise();
    expect(repeated.operation.context.meta?.cacheOutcome).toBe("hit");
    expect(repeated.data).toEqual(first.data);
    expect(gateway.searches()).toHaveLength(1);
  });

  it("pages through a connection with its cursors, merged by relayPagination", async () => {
    const client = urql({ Namespace: { instances: relayPagination() } });
    type Page = {
      namespace: {
        instances: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
          edges: { node: { instanceId: string } }[];
        };
      };
    };
    const query = gql<Page>(INSTANCES);
    let result = await client.query(query, { first: 1 }).toPromise();
    const total = result.data!.namespace.instances.totalCount;
    expect(total).toBeGreaterThanOrEqual(3);
    let after = result.data!.namespace.instances.pageInfo.endCursor;
    let hasNextPage = result.data!.namespace.instances.pageInfo.hasNextPage;
    while (hasNextPage) {
      // relayPagination answers each page's query with every page so far, in order.
      result = await client.query(query, { first: 1, after }).toPromise();
      expect(result.error).toBeUndefined();
      ({ endCursor: after, hasNextPage } = result.data!.namespace.instances.pageInfo);
    }
    const seen = result.data!.namespace.instances.edges.map((e) => e.node.instanceId);
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
  });

  it("runs a mutation whose chunks stay embedded in its result", async () => {
    const client = urql();
    const result = await client.mutation(ASK, askInput()).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data.chatCompletion.content).toEqual(expect.any(String));
    expect(result.data.chatCompletion.chunks.length).toBeGreaterThan(0);
  });

  it("streams an answer over graphql-ws whose deltas make the done event's text", async () => {
    const client = urql();
    const events = await new Promise<{ __typename: string }[]>((resolve, reject) => {
      const received: { __typename: string }[] = [];
      const { unsubscribe } = pipe(
        client.subscription(gql(STREAM), askInput()),
        subscribe((result) => {
          if (result.error) {
            unsubscribe();
            reject(result.error);
            return;
          }
          received.push(result.data.chatCompletionStream);
          if (result.data.chatCompletionStream.__typename === "ChatCompletionDoneEvent") {
            resolve(received);
          }
        }),
      );
    });
    expectCompleteAnswer(events as never);
  });
});
