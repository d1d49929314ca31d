import { getOperationAST } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import { once, onIteratorEnd } from "../iterate.ts";
import { anonymousClient } from "../policy/client-auth.ts";
import {
  type Release,
  SubscriptionCounter,
  tooManySubscriptions,
} from "../policy/subscription-caps.ts";
import { remoteAddressOf, webSocketOf } from "../server-context.ts";
import { clientOf } from "./useClientAuth.ts";

export interface SubscriptionCapsOptions {
  /**
   * Live subscriptions per client identity, over all its WebSockets and SSE streams.
   * @default 20
   */
  perClient?: number;
  /**
   * Live subscriptions per WebSocket connection.
   * @default 10
   */
  perConnection?: number;
}

/**
 * Caps on live subscriptions, for SSE and graphql-ws alike: each one holds an upstream stream
 * open, so an uncapped client could hold every upstream socket the gateway has. Queries and
 * mutations are not counted; they end on their own.
 *
 * A slot is taken while the operation's context is built, after parse and validation and before
 * anything runs, so a refusal (`TOO_MANY_SUBSCRIPTIONS`) is a refusal of the request: an
 * `error` message over graphql-ws, whose socket stays open. The slot is given back in
 * `onExecutionResult`, which every operation reaching context building passes whatever becomes
 * of it (refused later, failed, or a stream, whose end frees it).
 */
export function useSubscriptionCaps(options: SubscriptionCapsOptions = {}): Plugin {
  const perClient = new SubscriptionCounter(options.perClient ?? 20);
  const perConnection = options.perConnection ?? 10;
  const onConnection = new WeakMap<object, number>();
  const subscriptions = new WeakSet<object>();
  const held = new WeakMap<object, Release>();

  /** Both caps, connection first; nothing is held on refusal. */
  const acquire = (clientId: string, socket: object | undefined): Release => {
    const live = socket ? (onConnection.get(socket) ?? 0) : 0;
    if (socket && live >= perConnection) throw tooManySubscriptions("connection", perConnection);
    const releaseClient = perClient.tryAcquire(clientId);
    if (!releaseClient) throw tooManySubscriptions("client", perClient.limit);
    if (!socket) return releaseClient;
    onConnection.set(socket, live + 1);
    return once(() => {
      releaseClient();
      onConnection.set(socket, (onConnection.get(socket) ?? 1) - 1);
    });
  };

  return {
    onParse({ context }) {
      return ({ result }) => {
        if (!result || result instanceof Error) return;
        const { params } = context as { params?: { operationName?: string | null } };
        const definition = getOperationAST(result, params?.operationName ?? undefined);
        if (definition?.operation === "subscription") subscriptions.add(context);
      };
    },
    onContextBuilding({ context }) {
      if (!subscriptions.has(context)) return;
      const { request } = context as { request?: Request };
      // `useClientAuth` has named every caller by now; the address stands in without it.
      const client = clientOf(request) ?? anonymousClient(remoteAddressOf(context));
      // The per-connection cap is meant for browsers; a trusted router multiplexes many end
      // users over one socket, each held to the per-client cap instead.
      const socket = client.via === "router" ? undefined : webSocketOf(context);
      held.set(context, acquire(client.id, socket));
    },
    onExecutionResult({ result, context, setResult }) {
      const release = held.get(context);
      if (!release) return;
      held.delete(context);
      // Several end paths may race for one stream; the counter's release counts once.
      if (isAsyncIterable(result)) setResult(onIteratorEnd(result, { onEnd: release }));
      else release();
    },
  };
}
