/**
 * Apollo Client 4 against the gateway over real sockets: HTTP for queries and mutations,
 * graphql-ws (its GraphQLWsLink) for subscriptions, a default `InMemoryCache` for the cache
 * tests. Apollo normalises every object with an `id`; a retrieved chunk has none, so each
 * search keeps its own scores.
 */
import {
  ApolloClient,
  ApolloLink,
  gql,
  HttpLink,
  InMemoryCache,
  type OperationVariables,
  type TypedDocumentNode,
} from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition, relayStylePagination } from "@apollo/client/utilities";
import { firstValueFrom } from "rxjs";
import { filter } from "rxjs/operators";
import { describe, expect, it } from "vitest";
import { useClientGateway } from "./harness.ts";
import {
  askInput,
  expectCompleteAnswer,
  INSTANCES,
  possibleTypes,
  type ScoredChunk,
  SEARCH,
  STREAM,
  searchInput,
  sharedChunksWithOtherScores,
} from "./operations.ts";

const gateway = useClientGateway();

/** Apollo Client as an app sets it up: HTTP, and graphql-ws for subscriptions. */
function apollo(cache = new InMemoryCache()) {
  const socket = gateway.socket();
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(socket),
    new HttpLink({ uri: gateway.harness.gateway.graphqlUrl }),
  );
  return new ApolloClient({ cache, link });
}

type Doc<T> = TypedDocumentNode<T, OperationVariables>;
interface SearchData {
  search: { chunks: ScoredChunk[] };
}
const SEARCH_DOC = gql(SEARCH) as Doc<SearchData>;

describe("Apollo Client with a default InMemoryCache", () => {
  it("keeps each search's own scores for a chunk both return", async () => {
    const client = apollo();
    const first = await client.query({
      query: SEARCH_DOC,
      variables: searchInput("subscriptions"),
    });
    const second = await client.query({ query: SEARCH_DOC, variables: searchInput("rate limit") });
    // The two results share a chunk with another score: what a merging cache would corrupt.
    const shared = sharedChunksWithOtherScores(
      first.data!.search.chunks,
      second.data!.search.chunks,
    );
    expect(shared.length).toBeGreaterThan(0);
    const cached = client.readQuery({ query: SEARCH_DOC, variables: searchInput("subscriptions") });
    expect(cached).toEqual(first.data);
    const again = client.readQuery({ query: SEARCH_DOC, variables: searchInput("rate limit") });
    expect(again).toEqual(second.data);
  });

  it("serves a repeated query from the cache", async () => {
    const client = apollo();
    const first = await client.query({
      query: SEARCH_DOC,
      variables: searchInput("subscriptions"),
    });
    expect(gateway.searches()).toHaveLength(1);
    const repeated = await client.query({
      query: SEARCH_DOC,
      variables: searchInput("subscriptions"),
    });
    expect(repeated.data).toEqual(first.data);
    expect(gateway.searches()).toHaveLength(1);
  });

  it("pages through a connection with its cursors, merged by relayStylePagination", async () => {
    const client = apollo(
      new InMemoryCache({
        typePolicies: { Namespace: { fields: { instances: relayStylePagination() } } },
      }),
    );
    type Page = {
      namespace: {
        instances: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
          edges: { node: { instanceId: string } }[];
        };
      };
    };
    const query = gql(INSTANCES) as Doc<Page>;
    // As an app pages: one watched query, and fetchMore for each next page.
    const watched = client.watchQuery({ query, variables: { first: 1 } });
    const first = await firstValueFrom(
      watched.pipe(filter((result) => result.dataState === "complete")),
    );
    let instances = first.data!.namespace.instances;
    const total = instances.totalCount;
    expect(total).toBeGreaterThanOrEqual(3);
    const seen = instances.edges.map((e) => e.node.instanceId);
    while (instances.pageInfo.hasNextPage) {
      const more = await watched.fetchMore({ variables: { after: instances.pageInfo.endCursor } });
      instances = more.data!.namespace.instances;
      expect(instances.edges).toHaveLength(1);
      seen.push(...instances.edges.map((e) => e.node.instanceId));
    }
    expect(new Set(seen).size).toBe(total);
    // The cache holds every page under one list, in order.
    const merged = client.readQuery({ query, variables: { first: 1 } });
    expect(merged!.namespace.instances.edges.map((e) => e.node.instanceId)).toEqual(seen);
  });

  it("streams an answer over graphql-ws whose deltas make the done event's text", async () => {
    // An app with unions gives the cache their members (Apollo's possibleTypes); each event
    // replaces the last one under the subscription's field, so that field does not merge.
    const client = apollo(
      new InMemoryCache({
        possibleTypes: possibleTypes(),
        typePolicies: { Subscription: { fields: { chatCompletionStream: { merge: false } } } },
      }),
    );
    const events = await new Promise<{ __typename: string }[]>((resolve, reject) => {
      const received: { __typename: string }[] = [];
      client
        .subscribe({
          query: gql(STREAM) as Doc<{ chatCompletionStream: { __typename: string } }>,
          variables: askInput(),
        })
        .subscribe({
          next: (result) => {
            if (result.error) reject(result.error);
            else received.push(result.data!.chatCompletionStream);
          },
          error: reject,
          complete: () => resolve(received),
        });
    });
    expectCompleteAnswer(events as never);
  });
});
