import { createYoga, type Plugin } from "graphql-yoga";
import type { GatewayConfig } from "../config.ts";
import { createContext } from "../context.ts";
import { schema } from "../schema/index.ts";
import type { AiSearchClient } from "../upstream/client.ts";
import { maskError } from "./errors.ts";
import { useHealth } from "./useHealth.ts";
import { requestIdOf, useRequestId } from "./useRequestId.ts";

/** What the HTTP and WebSocket transports hand to the context factory. */
export interface InitialContext {
  request?: Request;
  /** Set by the graphql-ws transport, which has no Fetch `Request`. */
  requestId?: string;
}

/**
 * The gateway's Yoga server. Plugins run in list order: identification first, then the cheap
 * gates (health, limits), then the ones that need a parsed operation.
 */
export function createGatewayYoga(config: GatewayConfig, upstream: AiSearchClient) {
  const health = useHealth({
    probeUpstream: async () => {
      await upstream.listNamespaces({ perPage: 1 });
    },
  });
  const plugins: Plugin[] = [useRequestId(), health];
  const yoga = createYoga({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql: config.graphiql
      ? { title: "AI Search GraphQL gateway", subscriptionsProtocol: "WS" }
      : false,
    landingPage: false,
    maskedErrors: { maskError },
    logging: false,
    plugins,
    context: (initial: InitialContext) =>
      createContext(upstream, {
        signal: initial.request?.signal,
        requestId: initial.requestId ?? requestIdOf(initial.request),
      }),
  });
  return { yoga, health };
}
