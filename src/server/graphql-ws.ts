import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, Server } from "node:http";
import { type ExecutionArgs, type GraphQLError, getOperationAST } from "graphql";
import { CloseCode, type SubscribePayload, type Context as WsContext } from "graphql-ws";
import { type Extra, useServer } from "graphql-ws/use/ws";
import { createGraphQLError, type YogaServerInstance } from "graphql-yoga";
import { WebSocketServer } from "ws";
import type { Credentials } from "../upstream/auth.ts";
import {
  anonymousClient,
  type ClientIdentity,
  type ClientVerifier,
  createClientVerifier,
  presentedCredential,
  presentedInConnectionParams,
} from "./client-auth.ts";
import {
  isAsyncIterable,
  type Release,
  releaseWhenDone,
  SubscriptionCounter,
  tooManySubscriptions,
} from "./subscription-caps.ts";
import { callerTokenFrom } from "./usePassThroughCredentials.ts";

export interface GraphqlWsOptions {
  /**
   * Path shared with HTTP GraphQL, so one URL serves queries, SSE and WebSocket subscriptions.
   * @default "/graphql"
   */
  path?: string;
  /**
   * Largest WebSocket frame accepted, in bytes.
   * @default 1_048_576
   */
  maxPayload?: number;
  /**
   * How long a client may wait before `connection_init`, in milliseconds.
   * @default 3000
   */
  connectionInitWaitTimeout?: number;
  /**
   * Checks the credentials of `connection_init` (`{ authorization: "Bearer …" }` or
   * `{ apiKey }`), or else of the upgrade request's `authorization` / `x-api-key` headers.
   * @default a verifier that lets every connection in anonymously
   */
  verifier?: ClientVerifier;
  /**
   * Pass-through mode: the caller's Cloudflare token is read from the `cloudflareApiToken` key
   * of `connection_init`, or else from this header of the upgrade request, and used for every
   * upstream call of the connection. Unset means pass-through is off.
   * @default undefined
   */
  passThroughHeader?: string;
  /**
   * Live subscriptions one connection may hold.
   * @default 10
   */
  maxSubscriptionsPerConnection?: number;
  /**
   * Live subscriptions per client identity across all its connections; pass the counter the
   * SSE transport uses so both count against one limit.
   * @default a counter of this server's own, 20 per client
   */
  clientSubscriptions?: SubscriptionCounter;
  /**
   * The document text to parse for a subscribe payload, e.g. a persisted document id swapped
   * for its trusted text; throws a coded GraphQLError to refuse it. Over HTTP this happens in
   * Yoga's `onParams`, which graphql-ws never runs.
   * @default the payload's `query`
   */
  resolveQuery?: (payload: SubscribePayload) => string;
}

/** Codes set by our plugins survive; `http` is Yoga's status hint, meaningless on a socket. */
const wsError = (error: unknown, fallbackCode: string, nodes?: GraphQLError["nodes"]) => {
  const { http: _http, ...extensions } = (error as Partial<GraphQLError>).extensions ?? {};
  // Yoga's factory: graphql-ws accepts only errors of the graphql build it imports itself.
  return createGraphQLError((error as Error).message, {
    nodes,
    extensions: { ...extensions, code: extensions.code ?? fallbackCode },
  });
};

/** What a connection proved in `connection_init`, kept for all its operations. */
interface Connection {
  client: ClientIdentity;
  credentials?: Credentials;
  /** Releases of its live subscriptions; drained when the socket closes, whatever the path. */
  live: Set<Release>;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  // A repeated header becomes a comma-joined value, which the shape checks then refuse.
  return Array.isArray(value) ? value.join(", ") : value;
};

type EnvelopedRoot = Pick<
  ReturnType<YogaServerInstance<object, object>["getEnveloped"]>,
  "execute" | "subscribe"
> & { release?: Release };

/**
 * Serves the graphql-ws protocol on the HTTP server, running every operation through Yoga's
 * envelop, so plugins (masking, limits, context) behave exactly as over HTTP.
 */
export function serveGraphqlWs(
  server: Server,
  // biome-ignore lint/suspicious/noExplicitAny: Yoga's server and user context types vary per app.
  yoga: YogaServerInstance<any, any>,
  options: GraphqlWsOptions = {},
): { close(): Promise<void>; sockets: WebSocketServer } {
  const sockets = new WebSocketServer({
    server,
    path: options.path ?? "/graphql",
    maxPayload: options.maxPayload ?? 1_048_576,
  });
  const verifier =
    options.verifier ?? createClientVerifier({ authRequired: false, apiKeys: [], jwt: undefined });
  const perConnection = options.maxSubscriptionsPerConnection ?? 10;
  const perClient = options.clientSubscriptions ?? new SubscriptionCounter(20);
  const connections = new WeakMap<WsContext, Connection>();

  /** Who the connection is, and in pass-through mode whose token it uses; or why it is refused. */
  const admit = async (
    ctx: WsContext<Record<string, unknown> | undefined, Extra>,
  ): Promise<Connection | "missing" | "invalid"> => {
    const { headers } = ctx.extra.request;
    const params = ctx.connectionParams;
    const inParams = presentedInConnectionParams(params);
    const presented =
      inParams.kind === "none"
        ? presentedCredential(header(headers, "authorization"), header(headers, "x-api-key"))
        : inParams;
    const anonymous = anonymousClient(ctx.extra.request.socket.remoteAddress);
    const outcome = await verifier.authenticate(presented, anonymous);
    if (!outcome.ok) return outcome.reason;
    if (options.passThroughHeader === undefined) return { client: outcome.client, live: new Set() };
    const value = params?.cloudflareApiToken ?? header(headers, options.passThroughHeader);
    if (value === undefined) return "missing";
    const token = callerTokenFrom(value);
    if (!token.ok) return "invalid";
    return { client: outcome.client, credentials: token.credentials, live: new Set() };
  };

  /** Both caps, or the error that refuses the subscription; nothing is held on refusal. */
  const acquire = (connection: Connection): Release | GraphQLError => {
    if (connection.live.size >= perConnection) {
      return tooManySubscriptions("connection", perConnection);
    }
    const releaseClient = perClient.tryAcquire(connection.client.id);
    if (!releaseClient) return tooManySubscriptions("client", perClient.limit);
    const release: Release = () => {
      if (connection.live.delete(release)) releaseClient();
    };
    connection.live.add(release);
    return release;
  };

  const disposable = useServer<Record<string, unknown> | undefined>(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3000,
      onConnect: async (ctx) => {
        const admitted = await admit(ctx);
        if (admitted === "missing") {
          // graphql-ws only knows 4403 for a refused `connection_init`; "no credentials" is
          // 4401, so close first: its own 4403 close that follows is then a no-op.
          ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
        if (admitted === "invalid") return false;
        connections.set(ctx, admitted);
        return true;
      },
      onClose: (ctx) => {
        const connection = connections.get(ctx);
        if (connection) for (const release of [...connection.live]) release();
      },
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args as ExecutionArgs),
      subscribe: async (args) => {
        const root = args.rootValue as EnvelopedRoot;
        const release = root.release ?? (() => {});
        try {
          const result = await root.subscribe(args as ExecutionArgs);
          if (isAsyncIterable(result)) return releaseWhenDone(result, release);
          release();
          return result;
        } catch (error) {
          release();
          throw error;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const connection = connections.get(ctx);
        // Unreachable: graphql-ws closes with 4401 before a subscribe on an unacknowledged socket.
        if (!connection) return [wsError(new Error("Unauthorized"), "UNAUTHENTICATED")];
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          requestId: randomUUID(),
          client: connection.client,
          credentials: connection.credentials,
        });
        let document: ReturnType<typeof parse>;
        try {
          document = parse(options.resolveQuery?.(payload) ?? payload.query);
        } catch (error) {
          return [wsError(error, "GRAPHQL_PARSE_FAILED")];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) {
          return errors.map((e: GraphQLError) => wsError(e, "GRAPHQL_VALIDATION_FAILED", e.nodes));
        }
        const contextValue = await contextFactory();
        let release: Release | undefined;
        // Only subscriptions hold an upstream stream open; queries and mutations over the same
        // socket end on their own and are left to the rate limit.
        if (getOperationAST(document, payload.operationName)?.operation === "subscription") {
          const acquired = acquire(connection);
          if (typeof acquired !== "function") return [wsError(acquired, "TOO_MANY_SUBSCRIPTIONS")];
          release = acquired;
        }
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe, release } satisfies EnvelopedRoot,
        };
      },
    },
    sockets,
  );

  return {
    sockets,
    async close() {
      for (const socket of sockets.clients) socket.close(1001, "Going away");
      await disposable.dispose();
    },
  };
}
