/**
 * The graphql-ws transport: WebSocket connections speaking `graphql-transport-ws` on the GraphQL
 * path. It keeps only what is a connection's business: which pages may open a socket, who the
 * connection is (`connection_init`), how many connections a client holds, cancelling an
 * operation on `complete` or when its socket closes, and logging through the app's logger.
 *
 * Every operation then runs through Yoga's own pipeline, as Hive Gateway runs them: a Fetch
 * `Request` carrying the upgrade's headers and the connection's credentials (see
 * `connection-init.ts`), with a signal of its own, goes through `getResultForParams`, so each
 * per-operation rule (identity, pass-through, rate limit, subscription caps, trusted documents,
 * draining, limits, masking, observation) is the plugin HTTP requests pass through.
 *
 * Who is let in (the admission types, the origin check) is in `connection-admission.ts`, Yoga's
 * answer in graphql-ws' terms in `operation-answers.ts`, how a socket's messages are written in
 * `socket-writes.ts`.
 */
import type { IncomingMessage, Server } from "node:http";
import type { GraphQLError } from "graphql";
import { CloseCode, handleProtocols, makeServer, type SubscribePayload } from "graphql-ws";
import { type GraphQLParams, isAsyncIterable, type YogaServerInstance } from "graphql-yoga";
import { type WebSocket, WebSocketServer } from "ws";
import { ErrorCode } from "../../error-codes.ts";
import type { Logger } from "../../logger.ts";
import { explicitStop } from "../../streams/disconnect.ts";
import { maskError } from "../errors.ts";
import { executionStarted } from "../plugins/useExecutionStart.ts";
import { type Release, type SlotStore, SubscriptionCounter } from "../policy/subscription-caps.ts";
import type { ServerContext } from "../server-context.ts";
import { type ConnectionAdmission, originAllowed } from "./connection-admission.ts";
import { connectionHeaders, routedOperationHeaders } from "./connection-init.ts";
import { ANSWERED, type Answer, resultOf, toSocketErrors } from "./operation-answers.ts";
import { coalescingWrites, SEND_HIGH_WATER_BYTES, tcpOf } from "./socket-writes.ts";

export interface GraphqlWsOptions {
  /** Where graphql-ws errors and refused frames are reported; nothing goes to the console. */
  logger: Pick<Logger, "debug" | "warn" | "error">;
  /**
   * Path shared with HTTP GraphQL, so one URL serves queries, SSE and WebSocket subscriptions.
   * @default "/graphql"
   */
  path?: string;
  /**
   * Largest WebSocket frame accepted, in bytes; a larger one closes the socket with 1009.
   * @default 1_048_576
   */
  maxPayload?: number;
  /**
   * How long a client may wait before `connection_init`, in milliseconds (then 4408).
   * @default 3000
   */
  connectionInitWaitTimeout?: number;
  /**
   * Checks each connection's credentials (`connection_init`, else the upgrade's headers).
   * @default every connection let in, anonymous
   */
  admission?: ConnectionAdmission;
  /**
   * Acknowledged connections one client identity may hold at once; one more is closed with
   * 1013 (try again later). Each idle socket costs memory the other caps never see.
   * @default 20
   */
  maxConnectionsPerClient?: number;
  /**
   * Where those connections are counted (shared by replicas through Redis).
   * @default an in-process counter of `maxConnectionsPerClient`
   */
  connectionStore?: SlotStore;
  /**
   * Page origins, besides the gateway's own, whose scripts may open a socket (`CORS_ORIGINS`).
   * Browsers attach cookies and reach private addresses from any page, and CORS does not cover
   * WebSockets, so an upgrade whose `Origin` is neither this nor same-origin is refused with 403.
   * A request without `Origin` (not a browser) is let through.
   * @default [] (same-origin pages only)
   */
  allowedOrigins?: readonly string[];
  /**
   * How often an idle socket is pinged; one that does not answer within as long is dropped.
   * @default 12_000
   */
  keepAliveMs?: number;
}

const anyone: ConnectionAdmission = {
  admit: async (_headers, context) => ({
    ok: true,
    clientId: `ip:${context.req?.socket.remoteAddress ?? "unknown"}`,
  }),
};

const isComplete = (value: unknown): value is { id: string } =>
  typeof value === "object" &&
  value !== null &&
  (value as { type?: unknown }).type === "complete" &&
  typeof (value as { id?: unknown }).id === "string";

/**
 * One running operation: aborted by a `complete` for its id (an explicit stop, which ends a
 * stream at once) or by its socket closing (an abrupt end, which a stream outlives for its
 * grace period, in case the client reconnects and resumes it).
 */
interface Operation {
  controller: AbortController;
  /** Tells this operation from a later one reusing its id once it is completed. */
  payload: SubscribePayload;
}

/** Serves the graphql-ws protocol on `server`, every operation through `yoga`'s pipeline. */
export function serveGraphqlWs(
  server: Server,
  // biome-ignore lint/suspicious/noExplicitAny: Yoga's server and user context types vary per app.
  yoga: YogaServerInstance<any, any>,
  options: GraphqlWsOptions,
): { close(): Promise<void>; sockets: WebSocketServer } {
  const { logger } = options;
  const admission = options.admission ?? anyone;
  const keepAliveMs = options.keepAliveMs ?? 12_000;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  // The subscription counter's bookkeeping (per identity, freed once) fits connections as is.
  const clientConnections =
    options.connectionStore ?? new SubscriptionCounter(options.maxConnectionsPerClient ?? 20);
  const sockets = new WebSocketServer({
    server,
    path: options.path ?? "/graphql",
    maxPayload: options.maxPayload ?? 1_048_576,
    handleProtocols,
    // Decided on the upgrade request, so a refused page never gets an open socket to talk on.
    verifyClient: (
      info: { origin?: string; req: IncomingMessage },
      done: (verified: boolean, code?: number, message?: string) => void,
    ) => {
      if (originAllowed(info.origin, info.req.headers.host, allowedOrigins)) done(true);
      else done(false, 403, "Origin not allowed");
    },
  });
  // The WebSocket server re-emits its HTTP server's errors (a port in use), which whoever
  // listens on that server reports; without a listener here they would be thrown.
  sockets.on("error", (error) => logger.debug({ err: error }, "websocket server error"));

  sockets.on("connection", (socket: WebSocket, upgrade: IncomingMessage) => {
    const context: ServerContext = { req: upgrade, socket };
    const operations = new Map<string, Operation>();
    let admitted: { headers: Record<string, string>; leave: Release; router: boolean } | undefined;

    const forget = (id: string, payload: SubscribePayload) => {
      // A `complete` frees the id for reuse: only this operation's own entry may go.
      if (operations.get(id)?.payload === payload) operations.delete(id);
    };

    /** Runs one operation through Yoga; its refusal, or what graphql-ws should relay. */
    const run = async (id: string, payload: SubscribePayload) => {
      // graphql-ws closes with 4401 on a subscribe before `connection_init` was acknowledged.
      const router = admitted?.router === true;
      const headers = router
        ? routedOperationHeaders(admitted!.headers, payload.extensions, admission)
        : (admitted?.headers ?? {});
      const operation: Operation = { controller: new AbortController(), payload };
      operations.set(id, operation);
      const request = new yoga.fetchAPI.Request("http://localhost/graphql", {
        method: "POST",
        headers,
        signal: operation.controller.signal,
      });
      // Yoga fills this in as the operation's context, so each operation needs its own.
      const operationContext: ServerContext = { req: upgrade, socket };
      // graphql-ws has checked the payload's shape; Yoga's own parameter checks run next.
      const params = payload as GraphQLParams;
      let answer: Answer;
      try {
        const result = await yoga.getResultForParams({ params, request }, operationContext);
        // Yoga answers every operation it runs; nothing at all means a hook went wrong.
        if (!result) throw new Error("Yoga returned no result for a graphql-ws operation");
        answer = result;
      } catch (error) {
        // Refused by an `onParams` hook (credentials, rate limit, an unknown document id), or
        // a failure there (a rate-limit store down): this operation ends, the socket stays.
        forget(id, payload);
        const masked = maskError(error);
        if ((masked as GraphQLError).extensions?.code === ErrorCode.INTERNAL_SERVER_ERROR) {
          logger.error({ err: error }, "graphql-ws operation failed before it ran");
        }
        return refuse(toSocketErrors([masked]));
      }
      if (!executionStarted(operationContext) && !isAsyncIterable(answer) && answer.errors) {
        forget(id, payload);
        return refuse(toSocketErrors(answer.errors));
      }
      return relay(answer);

      /**
       * A refusal before the operation ran. Direct clients get graphql-ws' `error` message, the
       * protocol's answer to an operation that never started. A trusted router gets it as a
       * result (`next` with the errors, then `complete`), also the protocol's: Hive Gateway
       * reports a subgraph's `error` message to its client as "Unexpected error." and drops the
       * code, while it forwards a result's errors with their `extensions.code`.
       */
      function refuse(errors: GraphQLError[]) {
        return router ? relay({ errors } as Answer) : errors;
      }
    };

    const relay = (answer: Answer) =>
      ({ schema: undefined, document: ANSWERED, rootValue: { answer } }) as never;

    const protocol = makeServer<Record<string, unknown> | undefined, unknown>({
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3000,
      // graphql-ws parses each message once, with this; the message itself comes last, as
      // key "". graphql-ws acts on `complete` only for a live stream, so a query or mutation
      // still running (its upstream call included) is cancelled here.
      jsonMessageReviver(key, value) {
        if (key === "" && isComplete(value)) {
          operations.get(value.id)?.controller.abort(explicitStop());
        }
        return value;
      },
      onConnect: async (ctx) => {
        const headers = connectionHeaders(upgrade.headers, ctx.connectionParams, admission);
        const verdict = await admission.admit(headers, context);
        // Gone while being checked: there is nothing to admit, or to hold a slot for.
        if (socket.readyState !== socket.OPEN) return false;
        if (!verdict.ok) {
          // graphql-ws knows only 4403 for a refused `connection_init`; "no credentials" is
          // 4401, so close first: its own 4403 close that follows is then a no-op.
          if (verdict.reason === "missing") socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
        const leave = await clientConnections.tryAcquire(verdict.clientId);
        // Gone while its slot was taken: give it back at once.
        if (leave && socket.readyState !== socket.OPEN) {
          leave();
          return false;
        }
        if (!leave) {
          // Closed first, as above, so graphql-ws's 4403 that follows is a no-op.
          socket.close(1013, "Too many connections");
          return false;
        }
        admitted = { headers: Object.fromEntries(headers), leave, router: verdict.router === true };
        return true;
      },
      onSubscribe: (_ctx, id, payload) => run(id, payload),
      onComplete: (_ctx, id, payload) => forget(id, payload),
      // graphql-ws has returned the streams by now; this stops queries and mutations.
      onClose: () => {
        for (const operation of operations.values()) operation.controller.abort();
        operations.clear();
        admitted?.leave();
      },
      execute: resultOf,
      subscribe: resultOf,
    });

    const coalesce = coalescingWrites(tcpOf(socket));
    const onSent = (error?: Error | null) => {
      // The peer went away mid-send; its close ends the operation.
      if (error) logger.debug({ err: error }, "graphql-ws: send failed");
    };
    const closed = protocol.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          if (socket.readyState !== socket.OPEN) return;
          coalesce();
          // While the socket keeps up, a message is handed over and the stream reads on: no
          // promise or callback per event. Past the mark the subscription waits for its write,
          // so a client that stops reading still pauses its streams (and their upstream reads).
          if (socket.bufferedAmount < SEND_HIGH_WATER_BYTES) {
            socket.send(data, onSent);
            return;
          }
          return new Promise<void>((resolve) => {
            socket.send(data, (error) => {
              onSent(error);
              resolve();
            });
          });
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on("message", (data) => {
            handle(String(data)).catch((error: unknown) => {
              logger.error({ err: error }, "graphql-ws: message handling failed");
              socket.close(CloseCode.InternalServerError, "Internal server error");
            });
          }),
      },
      { socket, request: upgrade },
    );

    // A peer that vanished without a close never answers a ping.
    let pongWait: NodeJS.Timeout | undefined;
    const keepAlive = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.once("pong", () => clearTimeout(pongWait));
      socket.ping();
    }, keepAliveMs);

    // Protocol errors of the peer (a frame over `maxPayload`, bad framing): ws closes the socket
    // itself with the matching code (1009, 1002); this is the one line that says why.
    socket.on("error", (error: Error & { code?: string }) => {
      logger.warn({ code: error.code, reason: error.message }, "websocket closed on a bad frame");
    });
    socket.once("close", (code, reason) => {
      clearInterval(keepAlive);
      clearTimeout(pongWait);
      closed(code, String(reason)).catch((error: unknown) => {
        logger.error({ err: error }, "graphql-ws: cleanup after close failed");
      });
    });
  });

  return {
    sockets,
    async close() {
      // Going away (1001); `drainServer` waits for the handshakes, up to its deadline.
      for (const socket of sockets.clients) socket.close(1001, "Going away");
      // Stops taking upgrades; its callback would wait for every socket, without a deadline.
      sockets.close();
    },
  };
}
