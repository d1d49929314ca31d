import type { Plugin } from "graphql-yoga";
import { whenSettled } from "../iterate.ts";
import type { ClientIdentity } from "../policy/client-auth.ts";
import { type SubscriptionCounter, tooManySubscriptions } from "../policy/subscription-caps.ts";

export interface SubscriptionLimitOptions {
  /**
   * Live subscriptions per client identity, shared with the graphql-ws transport so one
   * client's SSE and WebSocket streams count against the same limit.
   */
  counter: SubscriptionCounter;
}

/**
 * Caps concurrent SSE subscriptions per client. graphql-ws operations are skipped: that
 * transport counts its own (per connection too) and answers a refusal with an `error` message,
 * which only it can send.
 */
export function useSubscriptionLimit(options: SubscriptionLimitOptions): Plugin {
  const { counter } = options;
  return {
    onSubscribe({ args, subscribeFn, setSubscribeFn, setResultAndStopExecution }) {
      const context = args.contextValue as { request?: Request; client?: ClientIdentity };
      if (!context.request || !context.client) return;
      const release = counter.tryAcquire(context.client.id);
      if (!release) {
        setResultAndStopExecution({
          errors: [tooManySubscriptions("client", counter.limit)],
        });
        return;
      }
      // Wrapping the subscribe function itself (rather than reacting to its result) also frees
      // the slot when subscribing throws or resolves to a single error result.
      setSubscribeFn((subscribeArgs) =>
        whenSettled(async () => subscribeFn(subscribeArgs), release),
      );
    },
  };
}
