/**
 * Runs one question: subscribes to `chatCompletionStream`, turns what arrives into turn actions,
 * and stops on request. Stopping unsubscribes, which graphql-ws sends as `complete`, and the
 * gateway then aborts its upstream request.
 */

import type { Client, CombinedError } from "@urql/core";
import { onEnd, pipe, subscribe } from "wonka";
import {
  type ChatCompletionInput,
  ChatPageAnswerDocument,
} from "../../operations/generated/graphql.ts";
import type { TurnAction } from "./conversation.ts";

export interface Asking {
  stop(): void;
}

export function ask(
  client: Client,
  input: ChatCompletionInput,
  dispatch: (action: TurnAction) => void,
): Asking {
  // Set once the turn has its last action, so nothing after it (a late end, a second stop)
  // can overwrite how it ended.
  let settled = false;
  const settle = (action: TurnAction) => {
    if (settled) return;
    settled = true;
    dispatch(action);
  };
  const { unsubscribe } = pipe(
    client.subscription(ChatPageAnswerDocument, { input }),
    // The stream ended without a done or failed event: the socket went away under it. This is
    // where a resumable stream will resubscribe after the turn's `lastSequence`.
    onEnd(() =>
      settle({ type: "interrupted", message: "The connection to the gateway was lost." }),
    ),
    subscribe((result) => {
      if (result.error) {
        settle(refusal(result.error));
        return;
      }
      const event = result.data?.chatCompletionStream;
      if (!event || settled) return;
      dispatch({ type: "event", event });
      if (
        event.__typename === "ChatCompletionDoneEvent" ||
        event.__typename === "ChatCompletionFailedEvent"
      ) {
        settled = true;
      }
    }),
  );
  return {
    stop() {
      if (settled) return;
      settle({ type: "stopped" });
      unsubscribe();
    },
  };
}

/** What to tell the person when the gateway refused the question or the socket closed. */
export function refusal(
  error: CombinedError,
): Extract<TurnAction, { type: "refused" | "interrupted" }> {
  const [first] = error.graphQLErrors;
  if (first) {
    const code = String(first.extensions?.code ?? "ERROR");
    return { type: "refused", code, message: first.message, retryable: RETRYABLE.has(code) };
  }
  const close = error.networkError as { code?: number } | undefined;
  switch (close?.code) {
    case 4401:
    case 4403:
      return {
        type: "refused",
        code: "UNAUTHENTICATED",
        message: "The gateway needs a valid API key.",
        retryable: false,
      };
    case 1001:
      return { type: "interrupted", message: "The gateway restarted." };
    case 1013:
      return { type: "interrupted", message: "The gateway is busy: too many open connections." };
    default:
      return { type: "interrupted", message: "The connection to the gateway was lost." };
  }
}

const RETRYABLE = new Set(["RATE_LIMITED", "TOO_MANY_SUBSCRIPTIONS", "SHUTTING_DOWN"]);
