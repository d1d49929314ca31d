import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import type { GatewayConfig } from "../config.ts";
import { type Context, createContext } from "../context.ts";
import type { Logger } from "../logger.ts";
import { ProgressHub } from "../progress/hub.ts";
import { schema } from "../schema/index.ts";
import { StreamHub, streamOwner } from "../streams/hub.ts";
import type { Tracing } from "../tracing.ts";
import type { AiSearchClient } from "../upstream/client.ts";
import { maskError } from "./errors.ts";
import { graphiqlOptions } from "./graphiql.ts";
import { drainSink } from "./observability/drain-sink.ts";
import { logSink } from "./observability/log-sink.ts";
import type { GatewayMetrics } from "./observability/metrics.ts";
import { metricsSink } from "./observability/metrics-sink.ts";
import { type OperationSink, useOperationObserver } from "./observability/operation-observer.ts";
import { traceSink } from "./observability/trace-sink.ts";
import { onePassPerPhase } from "./plugins/onePassPerPhase.ts";
import { useBodyCaps } from "./plugins/useBodyCaps.ts";
import { clientOf, useClientAuth } from "./plugins/useClientAuth.ts";
import { useCompiledExecution } from "./plugins/useCompiledExecution.ts";
import { useCors } from "./plugins/useCors.ts";
import { useCsrfPrevention } from "./plugins/useCsrfPrevention.ts";
import { useDisableIntrospection } from "./plugins/useDisableIntrospection.ts";
import { useErrorMasking } from "./plugins/useErrorMasking.ts";
import { useEventStreamResults } from "./plugins/useEventStreamResults.ts";
import { useExecutionStart } from "./plugins/useExecutionStart.ts";
import { useGracefulShutdown } from "./plugins/useGracefulShutdown.ts";
import { useHealth } from "./plugins/useHealth.ts";
import { useMalformedParams } from "./plugins/useMalformedParams.ts";
import { useMetricsEndpoint } from "./plugins/useMetricsEndpoint.ts";
import { useOperationLimits } from "./plugins/useOperationLimits.ts";
import {
  callerCredentialsOf,
  callerTokenIn,
  missingCallerToken,
  usePassThroughCredentials,
} from "./plugins/usePassThroughCredentials.ts";
import { useRateLimit } from "./plugins/useRateLimit.ts";
import { requestIdOf, useRequestId } from "./plugins/useRequestId.ts";
import { useScopes } from "./plugins/useScopes.ts";
import { useSingleConnectionSse } from "./plugins/useSingleConnectionSse.ts";
import { useStaticPages } from "./plugins/useStaticPages.ts";
import { useSubscriptionCaps } from "./plugins/useSubscriptionCaps.ts";
import { useTrustedDocuments } from "./plugins/useTrustedDocuments.ts";
import { useUploads } from "./plugins/useUploads.ts";
import { useValidationCache } from "./plugins/useValidationCache.ts";
import {
  anonymousClient,
  authenticateHeaders,
  createClientVerifier,
} from "./policy/client-auth.ts";
import type { RedisShared } from "./redis-shared.ts";
import { remoteAddressOf, type ServerContext } from "./server-context.ts";
import type { ConnectionAdmission } from "./transports/connection-admission.ts";
import type { Drain } from "./transports/shutdown.ts";

/** What one app observes itself with, and its shutdown state; each part is optional. */
export interface Observability {
  logger?: Logger;
  /** Unset when `METRICS=false`. */
  metrics?: GatewayMetrics;
  /** Unset unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set. */
  tracing?: Tracing;
  drain?: Drain;
}

/** State shared with other replicas; each part unset runs in process. */
export interface Shared {
  /**
   * Set with `REDIS_URL`: rate limits, subscription caps and streams shared through Redis (see
   * `connectRedisShared`, which the app imports only then).
   */
  redis?: RedisShared;
}

/** The observer's sinks for `observability`: one state machine per operation feeds them all. */
function sinksOf({ logger, metrics, tracing, drain }: Observability): OperationSink[] {
  return [
    ...(logger ? [logSink(logger)] : []),
    ...(tracing ? [traceSink(tracing)] : []),
    ...(metrics ? [metricsSink(metrics)] : []),
    ...(drain ? [drainSink(drain)] : []),
  ];
}

/** What `buildApp` needs to serve the gateway. */
export interface GatewayYoga {
  /** The HTTP handler, and the pipeline graphql-ws operations run through. */
  yoga: YogaServerInstance<ServerContext, Context>;
  /** How the graphql-ws transport lets a connection in: the same credential checks. */
  webSocket: ConnectionAdmission;
  /** The resumable streams this app holds; `close()` it once the app has drained. */
  streams: StreamHub;
}

/**
 * The gateway's Yoga server. Plugins run in list order (each hook kind in turn: `onRequest`
 * for HTTP only, then `onParams`, parse, validation, context and execution for every
 * transport), so the order below is what decides who refuses first; each entry says why it sits
 * where it does.
 */
export function createGatewayYoga(
  config: GatewayConfig,
  upstream: AiSearchClient,
  observability: Observability = {},
  shared: Shared = {},
): GatewayYoga {
  const { security, limits } = config;
  const { redis } = shared;
  const verifier = createClientVerifier(security);
  const passThroughHeader = security.passThroughCredentials
    ? security.passThroughHeader
    : undefined;
  const sharing = redis?.streamSharing;
  const streams = new StreamHub(limits.resume, sharing);
  void sharing?.serve(streams.control);
  observability.metrics?.watchStreams(() => streams.counts());
  // One set of indexing-progress pollers for every operation of this app.
  const progress = new ProgressHub(config.progress);
  const plugins: Plugin[] = [
    // Instrumentation: wraps execution outside every hook, wherever it sits.
    useExecutionStart(),
    // First, so every later hook, log line and upstream call has the request's id.
    useRequestId(),
    // Before every gate, so operations refused by a later plugin are still logged, counted and
    // traced, and a graphql-ws operation's clock starts before its first gate.
    useOperationObserver(sinksOf(observability)),
    // Scrapes are answered while draining and without credentials, like the probes.
    ...(observability.metrics ? [useMetricsEndpoint({ metrics: observability.metrics })] : []),
    // Before `useHealth`, which would otherwise answer `/readyz` while draining; before the
    // credential checks, which a request refused anyway should not cost.
    ...(observability.drain ? [useGracefulShutdown({ drain: observability.drain })] : []),
    useHealth({
      probeUpstream: async () => {
        await upstream.listNamespaces({ perPage: 1 });
      },
      upstreamAvailable: () => upstream.circuitState !== "open",
      redisUp: redis ? () => redis.connection.up : undefined,
    }),
    // Public pages (chat page at `/`, its assets, GraphiQL), answered before auth and rate
    // limits like the probes: they hold no data, and the operations they send are checked.
    useStaticPages({
      chatPage: config.chatPage,
      graphiql: config.graphiql ? graphiqlOptions : undefined,
    }),
    // Answers preflights, which carry no credentials, before they are asked for.
    ...(security.corsOrigins.length > 0 ? [useCors({ origins: security.corsOrigins })] : []),
    // Who the caller is, before anything keyed on it.
    useClientAuth({ verifier }),
    // After authentication, so a caller without client credentials hears about those first.
    ...(passThroughHeader ? [usePassThroughCredentials({ header: passThroughHeader })] : []),
    // After authentication, so a client's allowance follows its key or token, not its address;
    // before anything that reads the body or the document, which a refused client should not cost.
    useRateLimit({
      limit: limits.rateLimitPerMinute,
      store: redis?.rateLimits,
      key: ({ request, remoteAddress }) => clientOf(request)?.id ?? remoteAddress,
    }),
    // graphql-sse's single connection mode: its requests have passed the gates above (each is
    // an HTTP request), and it runs each operation through the whole pipeline again.
    useSingleConnectionSse({
      maxStreamsPerClient: limits.maxConnectionsPerClient,
      maxBodyBytes: limits.maxBodyBytes,
    }),
    // HTTP request parsing (`onRequestParse`): content types a page could send cross-site, and
    // parameters that are not JSON.
    useCsrfPrevention(),
    useMalformedParams(),
    // After CSRF prevention: a multipart POST needs a preflight header before a byte is read.
    useUploads({
      maxBytes: limits.maxUploadBytes,
      maxFiles: limits.maxUploadFiles,
      maxFieldBytes: limits.maxBodyBytes,
    }),
    // After every request parser (Yoga's and the multipart one above), so it wraps the one chosen.
    useBodyCaps({ maxBodyBytes: limits.maxBodyBytes, maxUploadBytes: limits.maxUploadBytes }),
    // Before the limits: an untrusted document is refused before it is even tokenized.
    ...(security.trustedDocuments === "off"
      ? []
      : [useTrustedDocuments({ mode: security.trustedDocuments, logger: observability.logger })]),
    useOperationLimits({
      depth: limits.depth,
      aliases: limits.aliases,
      directives: limits.directives,
      tokens: limits.tokens,
      cost: limits.cost,
      blockFieldSuggestions: config.env === "production" || !security.introspection,
    }),
    ...(security.introspection ? [] : [useDisableIntrospection()]),
    // Wraps the validate function, so it sees every rule the plugins above (and Yoga's) add,
    // wherever it sits; here beside them, as it is about how their rules run.
    useValidationCache(),
    // Scopes per root field, checked while the context is built; before the caps, so a refused
    // subscription holds no slot. In pass-through mode the caller's own token decides instead.
    ...(passThroughHeader ? [] : [useScopes()]),
    // Takes its slot while the context is built, so only operations that passed every check
    // above (and their validation) hold one.
    useSubscriptionCaps({
      perClient: limits.maxSubscriptionsPerClient,
      perConnection: limits.maxSubscriptionsPerConnection,
      store: redis?.subscriptionSlots,
      // A resume follows a stream that holds its client's slot already, and takes it over.
      slotFree: new Set(["resumeChatCompletionStream"]),
    }),
    // Only how an operation that passed everything above runs (a subscription: each event):
    // compiled, not walked.
    useCompiledExecution(),
    // How a streamed result is written as SSE; it takes over from the processor Yoga's own
    // content negotiation picked, so it runs after it, whatever the order of the others.
    useEventStreamResults(),
    // Last: it must see every result the plugins above produce (a refusal set by one of them
    // included) and every stream as they left it, to mask what reaches the client. A stream's
    // events are masked in the iterator the observer put around it, which it joins.
    useErrorMasking({ maskError }),
  ];
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    // Served by `useStaticPages`, compressed once and with an ETag, instead of rendered per request.
    graphiql: false,
    landingPage: false,
    // `useCors` replaces Yoga's CORS handling, which reflects any origin by default.
    cors: false,
    // `useBodyCaps` caps bodies instead: an upload may be larger than a JSON body, and it
    // needs no stream pipeline per request.
    maxRequestBodySize: false,
    // Yoga's multipart parser holds every file in memory; `useUploads` streams them instead.
    multipart: false,
    // `useValidationCache` caches validation instead: Yoga's reads every rule's name per
    // operation for its key. Yoga's parse cache stays.
    parserAndValidationCache: { validationCache: false },
    // `useErrorMasking` masks instead: Yoga's own masking adds two iterator layers per stream.
    maskedErrors: false,
    logging: false,
    // The same plugins in the same order, with one Yoga hook per HTTP phase for all of them.
    plugins: onePassPerPhase(plugins),
    // Every transport's operation has a `Request` by now, vetted by the plugins above.
    context: ({ request }) => {
      const credentials = callerCredentialsOf(request);
      // Fail closed: in pass-through mode no operation may fall back to the gateway's token,
      // even one arriving by a route the pass-through plugin did not see.
      if (passThroughHeader && !credentials) throw missingCallerToken(passThroughHeader);
      const requestId = requestIdOf(request);
      const client = clientOf(request) ?? anonymousClient(undefined);
      return createContext({
        upstream: upstream.withCall({ signal: request.signal, requestId, credentials }),
        upstreamUnder: (signal) => upstream.withCall({ signal, requestId, credentials }),
        client,
        streamLimits: limits.stream,
        drainSignal: observability.drain?.signal,
        onLoaderBatch: observability.metrics?.observeLoaderBatch,
        streams,
        streamOwner: streamOwner(
          client.id,
          credentials?.kind === "token" ? credentials.token : undefined,
        ),
        progress,
      });
    },
  });
  const webSocket: ConnectionAdmission = {
    passThroughHeader,
    async admit(headers, context) {
      const client = await authenticateHeaders(verifier, headers, remoteAddressOf(context));
      if (!client.ok) return client;
      if (passThroughHeader) {
        const token = callerTokenIn(headers, passThroughHeader);
        if (!token.ok) return token;
      }
      return { ok: true, clientId: client.client.id, router: client.client.via === "router" };
    },
  };
  return { yoga, webSocket, streams };
}
