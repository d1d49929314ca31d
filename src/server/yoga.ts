import { createYoga, type Plugin } from "graphql-yoga";
import type { GatewayConfig } from "../config.ts";
import { createContext } from "../context.ts";
import { schema } from "../schema/index.ts";
import type { Credentials } from "../upstream/auth.ts";
import type { AiSearchClient } from "../upstream/client.ts";
import { anonymousClient, type ClientIdentity, createClientVerifier } from "./client-auth.ts";
import { maskError } from "./errors.ts";
import { graphiqlOptions } from "./graphiql.ts";
import { contextHooks, type Observability, observabilityPlugins } from "./observability.ts";
import { useStaticPages } from "./plugins/useStaticPages.ts";
import { SubscriptionCounter } from "./subscription-caps.ts";
import { clientOf, useClientAuth } from "./useClientAuth.ts";
import { useCors } from "./useCors.ts";
import { useCsrfPrevention } from "./useCsrfPrevention.ts";
import { useDisableIntrospection } from "./useDisableIntrospection.ts";
import { useHealth } from "./useHealth.ts";
import { useMalformedParams } from "./useMalformedParams.ts";
import { useOperationLimits } from "./useOperationLimits.ts";
import {
  callerCredentialsOf,
  missingCallerToken,
  usePassThroughCredentials,
} from "./usePassThroughCredentials.ts";
import { memoryRateLimitStore, useRateLimit } from "./useRateLimit.ts";
import { requestIdOf, useRequestId } from "./useRequestId.ts";
import { useSubscriptionLimit } from "./useSubscriptionLimit.ts";
import { useTrustedDocuments } from "./useTrustedDocuments.ts";

/** What the HTTP and WebSocket transports hand to the context factory. */
export interface InitialContext {
  request?: Request;
  /** Set by the graphql-ws transport, which has no Fetch `Request`. */
  requestId?: string;
  /** Set by the graphql-ws transport from `connection_init`; HTTP reads it off the request. */
  client?: ClientIdentity;
  /** The same, for the caller's own upstream credentials in pass-through mode. */
  credentials?: Credentials;
  /** Set by the graphql-ws transport: aborted by the client's `complete` or a closed socket. */
  signal?: AbortSignal;
}

/**
 * The gateway's Yoga server. Plugins run in list order: identification first, then the cheap
 * gates (health, limits), then the ones that need a parsed operation.
 */
export function createGatewayYoga(
  config: GatewayConfig,
  upstream: AiSearchClient,
  observability: Observability = {},
) {
  const health = useHealth({
    probeUpstream: async () => {
      await upstream.listNamespaces({ perPage: 1 });
    },
    upstreamAvailable: () => upstream.circuitState !== "open",
  });
  const verifier = createClientVerifier(config.security);
  const subscriptions = new SubscriptionCounter(config.limits.maxSubscriptionsPerClient);
  const { security, limits } = config;
  // One allowance per client whichever transport it uses; graphql-ws consumes from it too.
  const rateLimits = memoryRateLimitStore({ limit: limits.rateLimitPerMinute, windowMs: 60_000 });
  const trustedDocuments =
    security.trustedDocuments === "off"
      ? undefined
      : useTrustedDocuments({ mode: security.trustedDocuments, logger: observability.logger });
  const plugins: Plugin[] = [
    useRequestId(),
    ...observabilityPlugins(observability),
    health,
    // Public pages (chat page at `/`, its assets, GraphiQL), answered before auth and rate
    // limits like the probes: they hold no data, and the operations they send are checked.
    useStaticPages({
      chatPage: config.chatPage,
      graphiql: config.graphiql ? graphiqlOptions : undefined,
    }),
    ...(security.corsOrigins.length > 0 ? [useCors({ origins: security.corsOrigins })] : []),
    useClientAuth({ verifier }),
    ...(config.security.passThroughCredentials
      ? [usePassThroughCredentials({ header: config.security.passThroughHeader })]
      : []),
    useSubscriptionLimit({ counter: subscriptions }),
    // After authentication, so a client's allowance follows its key or token, not its address.
    useRateLimit({
      limit: limits.rateLimitPerMinute,
      store: rateLimits,
      key: ({ request, remoteAddress }) => clientOf(request)?.id ?? remoteAddress,
    }),
    useCsrfPrevention(),
    useMalformedParams(),
    // Before the limits: an untrusted document is refused before it is even tokenized.
    ...(trustedDocuments ? [trustedDocuments] : []),
    useOperationLimits({
      depth: limits.depth,
      aliases: limits.aliases,
      directives: limits.directives,
      tokens: limits.tokens,
      cost: limits.cost,
      blockFieldSuggestions: config.env === "production" || !security.introspection,
    }),
    ...(security.introspection ? [] : [useDisableIntrospection()]),
  ];
  const yoga = createYoga({
    schema,
    graphqlEndpoint: "/graphql",
    // Served by `useStaticPages`, compressed once and with an ETag, instead of rendered per request.
    graphiql: false,
    landingPage: false,
    // `useCors` replaces Yoga's CORS handling, which reflects any origin by default.
    cors: false,
    maxRequestBodySize: limits.maxBodyBytes,
    // The schema has no uploads; multipart is one more parser and one more simple content type.
    multipart: false,
    maskedErrors: { maskError },
    logging: false,
    plugins,
    context: (initial: InitialContext) => {
      const credentials = initial.credentials ?? callerCredentialsOf(initial.request);
      // Fail closed: in pass-through mode no operation may fall back to the gateway's token,
      // even one arriving by a route the pass-through plugin did not see.
      if (config.security.passThroughCredentials && !credentials) {
        throw missingCallerToken(config.security.passThroughHeader);
      }
      return createContext(
        upstream,
        {
          signal: initial.request?.signal ?? initial.signal,
          requestId: initial.requestId ?? requestIdOf(initial.request),
          credentials,
        },
        initial.client ?? clientOf(initial.request) ?? anonymousClient(undefined),
        config.limits.stream,
        contextHooks(observability),
      );
    },
  });
  return { yoga, health, verifier, subscriptions, rateLimits, trustedDocuments };
}
