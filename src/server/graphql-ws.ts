import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, Server } from "node:http";
import { type ExecutionArgs, type GraphQLError, getOperationAST } from "graphql";
import { CloseCode, type SubscribePayload, type Context as WsContext } from "graphql-ws";
import { type Extra, useServer } from "graphql-ws/use/ws";
import { createGraphQLError, type YogaServerInstance } from "graphql-yoga";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { ErrorCode } from "../error-codes.ts";
import type { Credentials } from "../upstream/auth.ts";
import {
  anonymousClient,
  type ClientIdentity,
  type ClientVerifier,
  createClientVerifier,
  presentedCredential,
  presentedInConnectionParams,
} from "./client-auth.ts";
import { once, whenSettled } from "./iterate.ts";
import { type Release, SubscriptionCounter, tooManySubscriptions } from "./subscription-caps.ts";
import { callerTokenFrom } from "./usePassThroughCredentials.ts";
import { RATE_LIMITED_MESSAGE, type RateLimitStore, retryAfterMsFor } from "./useRateLimit.ts";

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
  /**
   * Counts every `subscribe` message (queries and mutations too) against the client's allowance;
   * pass the store HTTP's `useRateLimit` uses, so both transports draw on one allowance.
   * @default no limit
   */
  rateLimit?: RateLimitStore;
  /**
   * Acknowledged connections one client identity may hold at once; one more is closed with
   * 1013 (try again later). Each idle socket costs memory the other caps never see.
   * @default 20
   */
  maxConnectionsPerClient?: number;
  /**
   * Page origins, besides the gateway's own, whose scripts may open a socket (`CORS_ORIGINS`).
   * Browsers attach cookies and reach private addresses from any page, and CORS does not cover
   * WebSockets, so an upgrade whose `Origin` is neither this nor same-origin is refused with 403.
   * A request without `Origin` (not a browser) is let through.
   * @default [] (same-origin pages only)
   */
  allowedOrigins?: readonly string[];
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
  /**
   * The abort controller of each running operation, by id. Its signal is the operation's
   * (what a Fetch `Request` gives HTTP operations), aborted by a `complete` for the id or by the
   * socket closing; the entry goes when the operation ends.
   */
  operations: Map<string, AbortController>;
  /** Gives the client's connection slot back; once the socket has closed. */
  leave: Release;
}

/**
 * Whether a page at `origin` may open a socket on a server reached as `host`: same-origin, or
 * listed. Only host and port are compared, since behind a TLS proxy the page is `https:` while
 * the request reaching us is plain; the page's scheme reads `host` so default ports match.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: ReadonlySet<string>,
): boolean {
  if (origin === undefined) return true;
  if (allowed.has(origin)) return true;
  if (host === undefined) return false;
  try {
    const page = new URL(origin);
    if (page.protocol !== "http:" && page.protocol !== "https:") return false;
    return new URL(`${page.protocol}//${host}`).host === page.host;
  } catch {
    // `null` (sandboxed frames, files), joined repeats and other junk: not an origin we know.
    return false;
  }
}

/** The operation id of a graphql-ws `complete` message, if `data` is one. */
function completedId(data: RawData): string | undefined {
  const text = String(data);
  // Most messages are not `complete`; a substring test spares them a second JSON parse.
  if (!text.includes("complete")) return undefined;
  try {
    const message = JSON.parse(text) as { type?: unknown; id?: unknown } | null;
    return message?.type === "complete" && typeof message.id === "string" ? message.id : undefined;
  } catch {
    return undefined;
  }
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  // A repeated header becomes a comma-joined value, which the shape checks then refuse.
  return Array.isArray(value) ? value.join(", ") : value;
};

type EnvelopedRoot = Pick<
  ReturnType<YogaServerInstance<object, object>["getEnveloped"]>,
  "execute" | "subscribe"
> & {
  /** Runs once when the operation is over, however it ends: frees its slot and controller. */
  end: Release;
};

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
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const sockets = new WebSocketServer({
    server,
    path: options.path ?? "/graphql",
    maxPayload: options.maxPayload ?? 1_048_576,
    // Decided on the upgrade request, so a refused page never gets an open socket to talk on.
    verifyClient: (
      info: { origin?: string; req: IncomingMessage },
      done: (verified: boolean, code?: number, message?: string) => void,
    ) => {
      if (originAllowed(info.origin, info.req.headers.host, allowedOrigins)) done(true);
      else done(false, 403, "Origin not allowed");
    },
  });
  const verifier =
    options.verifier ?? createClientVerifier({ authRequired: false, apiKeys: [], jwt: undefined });
  const perConnection = options.maxSubscriptionsPerConnection ?? 10;
  const perClient = options.clientSubscriptions ?? new SubscriptionCounter(20);
  // The subscription counter's bookkeeping (per identity, freed once) fits connections as is.
  const clientConnections = new SubscriptionCounter(options.maxConnectionsPerClient ?? 20);
  const connections = new WeakMap<WebSocket, Connection>();

  // graphql-ws acts on a `complete` only for a subscription (it returns the iterator); a query
  // or mutation still running is left to finish, upstream call included. Its `onComplete` only
  // fires once an operation is over, too late to stop anything. So the message is read here.
  sockets.on("connection", (socket) => {
    socket.on("message", (data) => {
      const operations = connections.get(socket)?.operations;
      if (!operations || operations.size === 0) return;
      const id = completedId(data);
      if (id !== undefined) operations.get(id)?.abort();
    });
  });

  /** Who the connection is, and in pass-through mode whose token it uses; or why it is refused. */
  const admit = async (
    ctx: WsContext<Record<string, unknown> | undefined, Extra>,
  ): Promise<Omit<Connection, "operations" | "leave"> | "missing" | "invalid"> => {
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

  const rateLimited = (resetMs: number) =>
    createGraphQLError(RATE_LIMITED_MESSAGE, {
      extensions: { code: ErrorCode.RATE_LIMITED, retryAfterMs: retryAfterMsFor(resetMs) },
    });

  /**
   * Everything between a `subscribe` message and running it: the rate limit (first, so a client
   * over its allowance costs no parsing), parse, validation, context and the subscription caps.
   * Errors to send back, or what to run.
   */
  const prepare = async (
    ctx: WsContext<Record<string, unknown> | undefined, Extra>,
    connection: Connection,
    payload: SubscribePayload,
    signal: AbortSignal,
  ) => {
    if (options.rateLimit) {
      let decision: Awaited<ReturnType<RateLimitStore["consume"]>>;
      try {
        decision = await options.rateLimit.consume(connection.client.id);
      } catch {
        // A store outage fails this operation only, as it fails one HTTP request with a 500;
        // a throw here would make graphql-ws close the whole socket with 4500.
        return [
          createGraphQLError("Unexpected error.", {
            extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
          }),
        ];
      }
      if (!decision.allowed) return [rateLimited(decision.resetMs)];
    }
    const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
      ...ctx,
      req: ctx.extra.request,
      socket: ctx.extra.socket,
      params: payload,
      requestId: randomUUID(),
      client: connection.client,
      credentials: connection.credentials,
      signal,
    });
    let document: ReturnType<typeof parse>;
    try {
      document = parse(options.resolveQuery?.(payload) ?? payload.query);
    } catch (error) {
      return [wsError(error, ErrorCode.GRAPHQL_PARSE_FAILED)];
    }
    const errors = validate(schema, document);
    if (errors.length > 0) {
      return errors.map((e: GraphQLError) =>
        wsError(e, ErrorCode.GRAPHQL_VALIDATION_FAILED, e.nodes),
      );
    }
    // graphql-ws would refuse this itself, but after `onSubscribe`, where nothing ends the
    // operation and its controller would stay registered until the socket closes.
    const definition = getOperationAST(document, payload.operationName);
    if (!definition) {
      return [
        wsError(
          new Error("Could not determine what operation to execute."),
          // Yoga's code for the same refusal over HTTP.
          ErrorCode.OPERATION_RESOLUTION_FAILURE,
        ),
      ];
    }
    const contextValue = await contextFactory();
    // Cancelled while being prepared: graphql-ws sends nothing more for the id, so this error
    // goes nowhere; returning it keeps the operation from running at all.
    if (signal.aborted) {
      return [wsError(new Error("Operation cancelled."), ErrorCode.REQUEST_ABORTED)];
    }
    let release: Release | undefined;
    // Only subscriptions hold an upstream stream open, so only they count against the caps;
    // queries and mutations end on their own and were counted by the rate limit above.
    if (definition.operation === "subscription") {
      const acquired = acquire(connection);
      if (typeof acquired !== "function")
        return [wsError(acquired, ErrorCode.TOO_MANY_SUBSCRIPTIONS)];
      release = acquired;
    }
    return {
      release,
      root: { execute, subscribe },
      args: {
        schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue,
      },
    };
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
        const { socket } = ctx.extra;
        // Closed while its credentials were checked: `onClose` has run, and would not free a slot.
        if (socket.readyState !== socket.OPEN) return false;
        const leave = clientConnections.tryAcquire(admitted.client.id);
        if (!leave) {
          // Closed first, as above, so graphql-ws's 4403 that follows is a no-op.
          socket.close(1013, "Too many connections");
          return false;
        }
        connections.set(socket, { ...admitted, operations: new Map(), leave });
        return true;
      },
      onClose: (ctx) => {
        const connection = connections.get(ctx.extra.socket);
        if (!connection) return;
        connections.delete(ctx.extra.socket);
        for (const release of [...connection.live]) release();
        // graphql-ws has already returned the subscriptions; this stops queries and mutations.
        for (const operation of connection.operations.values()) operation.abort();
        connection.operations.clear();
        connection.leave();
      },
      execute: (args) => {
        const root = args.rootValue as EnvelopedRoot;
        return whenSettled(() => root.execute(args as ExecutionArgs), root.end);
      },
      subscribe: (args) => {
        const root = args.rootValue as EnvelopedRoot;
        return whenSettled(() => root.subscribe(args as ExecutionArgs), root.end);
      },
      onSubscribe: async (ctx, id, payload) => {
        const connection = connections.get(ctx.extra.socket);
        // Unreachable: graphql-ws closes with 4401 before a subscribe on an unacknowledged socket.
        if (!connection) return [wsError(new Error("Unauthorized"), ErrorCode.UNAUTHENTICATED)];
        // Registered before the first `await`, so a `complete` or a close arriving while the
        // operation is still being prepared already finds it.
        const operation = new AbortController();
        connection.operations.set(id, operation);
        let release: Release | undefined;
        const end = once(() => {
          release?.();
          // A `complete` frees the id for reuse: only this operation's own entry may go.
          if (connection.operations.get(id) === operation) connection.operations.delete(id);
        });
        try {
          const prepared = await prepare(ctx, connection, payload, operation.signal);
          if (Array.isArray(prepared)) {
            end();
            return prepared;
          }
          release = prepared.release;
          return {
            ...prepared.args,
            rootValue: { ...prepared.root, end } satisfies EnvelopedRoot,
          };
        } catch (error) {
          end();
          throw error;
        }
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
