import { getOperationAST, Kind } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import type { SubscriptionSlot } from "../../context.ts";
import { once, onIteratorEnd } from "../iterate.ts";
import { anonymousClient } from "../policy/client-auth.ts";
import {
  type Release,
  type SlotStore,
  SubscriptionCounter,
  tooManySubscriptions,
} from "../policy/subscription-caps.ts";
import { requestState } from "../request-state.ts";
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
  /**
   * Where the per-client counts live (shared by replicas through Redis).
   * @default an in-process counter of `perClient`
   */
  store?: SlotStore;
  /**
   * Subscription fields that follow a stream which already holds its client's slot
   * (`resumeChatCompletionStream`): they count against the connection only.
   * @default none
   */
  slotFree?: ReadonlySet<string>;
}

/** The slots one operation holds: its connection's, and its client's unless a stream took it. */
class HeldSlots implements SubscriptionSlot {
  #client: Release | undefined;
  readonly #connection: Release | undefined;

  constructor(connection: Release | undefined, client: Release | undefined) {
    this.#connection = connection;
    this.#client = client;
  }

  adopt(): Release | undefined {
    const client = this.#client;
    this.#client = undefined;
    return client;
  }

  release(): void {
    this.#connection?.();
    this.adopt()?.();
  }
}

/**
 * Caps on live subscriptions, for SSE and graphql-ws alike: each one holds an upstream stream
 * open, so an uncapped client could hold every upstream socket the gateway has. Queries and
 * mutations are not counted; they end on their own.
 *
 * A slot is taken while the operation's context is built, after parse and validation and before
 * anything runs, so a refusal (`TOO_MANY_SUBSCRIPTIONS`) is a refusal of the request: an
 * `error` message over graphql-ws, whose socket stays open. The slots are given back when a
 * subscription's stream ends, or else in `onExecutionResult`, which every operation reaching
 * context building passes whatever becomes of it (refused later, failed) — except a client slot the
 * operation's stream adopted (`context.subscriptionSlot`): a resumable stream holds it through
 * its grace period, and frees it when it ends.
 */
export function useSubscriptionCaps(options: SubscriptionCapsOptions = {}): Plugin {
  const perClient = options.store ?? new SubscriptionCounter(options.perClient ?? 20);
  const perConnection = options.perConnection ?? 10;
  const slotFree = options.slotFree ?? new Set<string>();
  const onConnection = new WeakMap<object, number>();
  /** Subscription operations, and whether they take a client slot. */
  const subscriptions = requestState<boolean>("takes a client slot");
  const held = new WeakMap<object, HeldSlots>();

  /** The connection's slot, counted at once so concurrent operations cannot both squeeze in. */
  const takeConnection = (socket: object | undefined): Release | undefined => {
    if (!socket) return undefined;
    const live = onConnection.get(socket) ?? 0;
    if (live >= perConnection) throw tooManySubscriptions("connection", perConnection);
    onConnection.set(socket, live + 1);
    return once(() => onConnection.set(socket, (onConnection.get(socket) ?? 1) - 1));
  };

  const hold = (
    context: object,
    extendContext: (extension: object) => void,
    connection: Release | undefined,
    client: Release | undefined,
  ) => {
    const slots = new HeldSlots(connection, client);
    held.set(context, slots);
    if (client) extendContext({ subscriptionSlot: slots });
  };

  return {
    onParse({ context }) {
      return ({ result }) => {
        if (!result || result instanceof Error) return;
        const { params } = context as { params?: { operationName?: string | null } };
        const definition = getOperationAST(result, params?.operationName ?? undefined);
        if (definition?.operation !== "subscription") return;
        // Validation allows a subscription one root field; aliases do not change its name.
        const [root] = definition.selectionSet.selections;
        const field = root?.kind === Kind.FIELD ? root.name.value : undefined;
        subscriptions.set(context, field === undefined || !slotFree.has(field));
      };
    },
    onContextBuilding({ context, extendContext }) {
      const takesClientSlot = subscriptions.get(context);
      if (takesClientSlot === undefined) return;
      const { request } = context as { request?: Request };
      // `useClientAuth` has named every caller by now; the address stands in without it.
      const client = clientOf(request) ?? anonymousClient(remoteAddressOf(context));
      // The per-connection cap is meant for browsers; a trusted router multiplexes many end
      // users over one socket, each held to the per-client cap instead.
      const connection = takeConnection(client.via === "router" ? undefined : webSocketOf(context));
      if (!takesClientSlot) {
        hold(context, extendContext, connection, undefined);
        return;
      }
      const settle = (release: Release | undefined) => {
        if (!release) {
          connection?.();
          throw tooManySubscriptions("client", perClient.limit);
        }
        hold(context, extendContext, connection, release);
      };
      const acquired = perClient.tryAcquire(client.id);
      // The in-process counter answers at once: no promise on the default path.
      if (!(acquired instanceof Promise)) return settle(acquired);
      return acquired.then(settle, (error: unknown) => {
        connection?.();
        throw error;
      });
    },
    // A stream's slots are given back when it ends, watched from inside Yoga's own stream
    // handling: there the operation observer's iterator is around it already, and this joins
    // it rather than costing every event one more layer.
    onSubscribe({ args }) {
      return {
        onSubscribeResult({ result, setResult }) {
          const slots = held.get(args.contextValue);
          if (!slots || !isAsyncIterable(result)) return;
          held.delete(args.contextValue);
          setResult(onIteratorEnd(result, { onEnd: () => slots.release() }));
        },
      };
    },
    // Everything else: a result, or a stream `onSubscribeResult` did not see.
    onExecutionResult({ result, context, setResult }) {
      const slots = held.get(context);
      if (!slots) return;
      held.delete(context);
      const release = () => slots.release();
      // Several end paths may race for one stream; each release counts once.
      if (isAsyncIterable(result)) setResult(onIteratorEnd(result, { onEnd: release }));
      else release();
    },
  };
}
