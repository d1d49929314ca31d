import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import type { ExecutionResult, GraphQLError } from "graphql";
import type { RequestParams } from "graphql-sse";
import { createHandler } from "graphql-sse/lib/use/fetch";
import { isAsyncIterable, type Plugin, type YogaServer } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import { maskError } from "../errors.ts";
import { anonymousClient } from "../policy/client-auth.ts";
import { SubscriptionCounter } from "../policy/subscription-caps.ts";
import { graphqlErrorBody, jsonResponse } from "../responses.ts";
import { remoteAddressOf, type ServerContext } from "../server-context.ts";
import { coalescingWrites } from "../transports/socket-writes.ts";
import { cappedBody } from "./useBodyCaps.ts";
import { clientOf } from "./useClientAuth.ts";

export interface SingleConnectionSseOptions {
  /**
   * The GraphQL endpoint, shared with HTTP, distinct-connection SSE and graphql-ws.
   * @default "/graphql"
   */
  endpoint?: string;
  /**
   * Event streams one client identity may hold (reserved or open) at once.
   * @default 20
   */
  maxStreamsPerClient?: number;
  /**
   * Largest body of an operation `POST`ed to a stream (`MAX_BODY_BYTES`): graphql-sse reads it
   * itself, outside Yoga's request parsing and so outside `useBodyCaps`.
   * @default 1048576
   */
  maxBodyBytes?: number;
  /**
   * How long a reserved stream waits to be opened before it is dropped, in milliseconds.
   * @default 30_000
   */
  reservationTimeoutMs?: number;
}

/** graphql-sse's names for the stream's token (a header, or for `EventSource` a parameter). */
const TOKEN_HEADER = "x-graphql-event-stream-token";
const TOKEN_PARAMETER = "token";

interface Reservation {
  clientId: string;
  leave: () => void;
  /** Set while the stream is reserved: unset once it is opened or released. */
  expiry?: NodeJS.Timeout;
  /** Once it is open: holds its connection's writes to the end of this event-loop turn. */
  holdWrites?: () => void;
}

const notFound = () =>
  jsonResponse(404, graphqlErrorBody(ErrorCode.BAD_REQUEST, "No such event stream."));

/**
 * The "single connection mode" of the graphql-sse protocol: `PUT` reserves an event stream and
 * answers its token, `GET` with the token opens it, each `POST` with the token runs one operation
 * whose results arrive on that stream, `DELETE ?operationId=` stops one. (Yoga itself serves the
 * "distinct connections" mode: a `POST` with `accept: text/event-stream`.)
 *
 * graphql-sse's own handler speaks the protocol, and every operation it is given runs through
 * Yoga's whole pipeline (`getResultForParams`, as graphql-ws operations do): the `POST` that
 * carries it has passed the HTTP gates in `onRequest` already (credentials, rate limit), and its
 * operation meets every later one (trusted documents, limits, subscription caps, masking,
 * observation) like any other. Yoga's own graphql-sse plugin executes with `getEnveloped`
 * instead, which skips the `onParams` hooks. A stream belongs to the client identity that reserved
 * it: another client's requests with its token are answered as if it did not exist.
 */
export function useSingleConnectionSse(options: SingleConnectionSseOptions = {}): Plugin {
  const endpoint = options.endpoint ?? "/graphql";
  const reservationTimeoutMs = options.reservationTimeoutMs ?? 30_000;
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const perClient = new SubscriptionCounter(options.maxStreamsPerClient ?? 20);
  const reservations = new Map<string, Reservation>();
  const serverContexts = new WeakMap<Request, unknown>();
  /** The stream each posted operation's results go to. */
  const streamOf = new WeakMap<Request, Reservation>();
  // biome-ignore lint/suspicious/noExplicitAny: Yoga's server and user context types vary per app.
  let yoga: YogaServer<any, any>;
  let handler: (request: Request) => Promise<Response>;

  /**
   * Runs one operation through Yoga; a refusal there becomes a result with that error. A result
   * always has `data` (`null` when refused): graphql-sse takes a result without it for arguments
   * to execute.
   */
  const run = async (
    request: Request,
    params: RequestParams,
  ): Promise<ExecutionResult | AsyncIterableIterator<ExecutionResult>> => {
    try {
      const result = await yoga.getResultForParams(
        { params, request },
        serverContexts.get(request) ?? {},
      );
      if (isAsyncIterable(result)) return result as AsyncIterableIterator<ExecutionResult>;
      return { data: null, ...(result as ExecutionResult) };
    } catch (error) {
      return { data: null, errors: [maskError(error) as GraphQLError] };
    }
  };

  /** Drops a reservation nobody opened: graphql-sse forgets a stream once it closes. */
  const expire = (token: string) => {
    const headers = { accept: "text/event-stream", [TOKEN_HEADER]: token };
    void handler(
      new yoga.fetchAPI.Request(`http://localhost${endpoint}`, {
        headers,
        signal: AbortSignal.abort(),
      }),
    ).catch(() => {});
    release(token);
  };

  const release = (token: string) => {
    const reservation = reservations.get(token);
    if (!reservation) return;
    reservations.delete(token);
    clearTimeout(reservation.expiry);
    reservation.expiry = undefined;
    // A late result must not hold a socket that keep-alive may have given to another response.
    reservation.holdWrites = undefined;
    reservation.leave();
  };

  /** The stream's GET was answered with the stream: it lives until that request ends. */
  const opened = (token: string, reservation: Reservation, request: Request, tcp?: Socket) => {
    clearTimeout(reservation.expiry);
    reservation.expiry = undefined;
    if (request.signal.aborted) {
      release(token);
      return;
    }
    request.signal.addEventListener("abort", () => release(token), { once: true });
    reservation.holdWrites = coalescingWrites(tcp);
  };

  const tokenOf = (request: Request, url: URL) =>
    request.headers.get(TOKEN_HEADER) ??
    (request.method === "GET" ? url.searchParams.get(TOKEN_PARAMETER) : null);

  /** One request of a single-connection stream: reserve (PUT), open (GET), operate (POST), release (DELETE). */
  async function serveStreamRequest(
    request: Request,
    token: string | null,
    serverContext: unknown,
    endResponse: (response: Response) => void,
  ): Promise<void> {
    serverContexts.set(request, serverContext);
    const client = clientOf(request) ?? anonymousClient(remoteAddressOf(serverContext));
    if (request.method === "PUT") {
      const leave = perClient.tryAcquire(client.id);
      if (!leave) {
        const message = `Too many event streams for this client (at most ${perClient.limit}).`;
        endResponse(jsonResponse(429, graphqlErrorBody(ErrorCode.TOO_MANY_SUBSCRIPTIONS, message)));
        return;
      }
      const response = await handler(request);
      const reserved = response.status === 201 ? await response.clone().text() : undefined;
      if (!reserved) leave();
      else {
        const expiry = setTimeout(() => expire(reserved), reservationTimeoutMs);
        expiry.unref();
        reservations.set(reserved, { clientId: client.id, leave, expiry });
      }
      endResponse(response);
      return;
    }
    const reservation = token === null ? undefined : reservations.get(token);
    if (!reservation || reservation.clientId !== client.id) {
      endResponse(notFound());
      return;
    }
    if (request.method === "GET") {
      const response = await handler(request);
      // Only the GET answered with the stream owns its life and its connection. graphql-sse
      // answers another GET for an open stream with 409, and runs a GET that carries an
      // operation (202): neither one's end may release the stream, nor its socket hold writes.
      const isStream =
        response.status === 200 &&
        (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
      // Still reserved: not opened by another GET, nor released while this one was answered.
      if (isStream && reservation.expiry) {
        opened(token!, reservation, request, (serverContext as ServerContext).req?.socket);
      }
      endResponse(response);
      return;
    }
    if (request.method === "POST") {
      const operation = await cappedBody(request, maxBodyBytes);
      if (!("refusal" in operation)) {
        streamOf.set(operation.request, reservation);
        // A chunked body was read into a new request: it runs with the same connection (peer).
        serverContexts.set(operation.request, serverContext);
      }
      endResponse(
        "refusal" in operation
          ? refusedResponse(operation.refusal)
          : await handler(operation.request),
      );
      return;
    }
    endResponse(await handler(request));
  }

  return {
    onYogaInit({ yoga: instance }) {
      yoga = instance;
      handler = createHandler(
        {
          // The token is checked against its owner before the handler sees a request.
          authenticate: (req) =>
            req.method === "PUT" ? randomUUID() : (tokenOf(req.raw, new URL(req.url)) ?? ""),
          onSubscribe: (req, params) => run(req.raw, params),
          // One event stream carries many subscriptions: their results ready in one turn leave
          // in one write, as over a graphql-ws socket (one write each was a quarter of the CPU).
          onNext: (_ctx, req) => {
            streamOf.get(req.raw)?.holdWrites?.();
          },
        },
        instance.fetchAPI,
      );
    },
    // Not `async`: every other request to the endpoint passes without a promise, which would
    // make Yoga run the hooks after it through promise chains.
    onRequest({ request, url, serverContext, endResponse }) {
      if (url.pathname !== endpoint) return;
      const token = tokenOf(request, url);
      if (request.method !== "PUT" && request.method !== "DELETE" && token === null) return;
      return serveStreamRequest(request, token, serverContext, endResponse);
    },
  };
}

function refusedResponse(error: GraphQLError): Response {
  const { code, http } = error.extensions as { code: string; http: { status: number } };
  return jsonResponse(http.status, graphqlErrorBody(code, error.message));
}
