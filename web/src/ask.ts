/**
 * Runs one question: subscribes to `chatCompletionStream`, turns what arrives into turn actions,
 * and stops on request. Stopping unsubscribes, which graphql-ws sends as `complete`, and the
 * gateway then aborts its upstream request.
 *
 * A lost connection does not end the answer. The gateway keeps the stream running for a while,
 * and the socket reconnects by itself (`gateway.ts`); before it sends the original subscription
 * again (which would ask the upstream a second time), the page stops it and subscribes to
 * `resumeChatCompletionStream` after the last event it applied instead, so the answer goes on
 * where it stopped, every event once.
 */

import type { CombinedError } from "@urql/core";
import { onEnd, pipe, subscribe } from "wonka";
import {
  type ChatCompletionInput,
  ChatPageAnswerDocument,
  ChatPageCancelDocument,
  ChatPageResumeDocument,
} from "../../operations/generated/graphql.ts";
import type { StreamEvent, TurnAction } from "./conversation.ts";
import type { Gateway } from "./gateway.ts";

export interface Asking {
  stop(): void;
}

/** Resumes of one answer before the page gives up and says it was interrupted. */
const MAX_RESUMES = 5;

/** Failures of a follower rather than of the stream: resuming again may well work. */
const FOLLOWER_FAILURES = new Set(["RESUME_UNAVAILABLE", "SHUTTING_DOWN"]);

export function ask(
  gateway: Gateway,
  input: ChatCompletionInput,
  dispatch: (action: TurnAction) => void,
): Asking {
  const { client } = gateway;
  // Set once the turn has its last action, so nothing after it (a late end, a second stop)
  // can overwrite how it ended.
  let settled = false;
  let streamId: string | undefined;
  let last = -1;
  let resumes = 0;
  /** The subscription followed now; results of any other are ignored. */
  let current: { unsubscribe(): void } | undefined;
  let currentToken: object | undefined;
  const drop = () => {
    const subscription = current;
    current = undefined;
    currentToken = undefined;
    subscription?.unsubscribe();
  };
  const settle = (action: TurnAction) => {
    if (settled) return;
    settled = true;
    stopListening();
    dispatch(action);
  };

  /** The field followed now: the original stream, or a resume of it. */
  let following: string | undefined;
  const follow = (source: ReturnType<typeof client.subscription>, field: string) => {
    const token = {};
    currentToken = token;
    following = field;
    current = pipe(
      source,
      // The stream ended without a done or failed event: it cannot go on.
      onEnd(() => {
        if (currentToken === token) {
          settle({ type: "interrupted", message: "The connection to the gateway was lost." });
        }
      }),
      subscribe((result) => {
        if (currentToken !== token || settled) return;
        if (result.error) {
          settle(refusal(result.error, streamId !== undefined));
          return;
        }
        const event = (result.data as Record<string, StreamEvent> | undefined)?.[field];
        if (!event) return;
        if (event.__typename === "ChatCompletionFailedEvent" && FOLLOWER_FAILURES.has(event.code)) {
          // The connection's end, not the stream's: it runs on; follow it from elsewhere.
          if (event.sequence <= last && resume()) return;
        }
        streamId = event.streamId;
        last = Math.max(last, event.sequence);
        dispatch({ type: "event", event });
        if (
          event.__typename === "ChatCompletionDoneEvent" ||
          event.__typename === "ChatCompletionFailedEvent"
        ) {
          settled = true;
          stopListening();
        }
      }),
    );
  };

  /** Follows the stream again after `last`; false when there is nothing to resume. */
  const resume = (): boolean => {
    if (settled || !streamId || resumes >= MAX_RESUMES) return false;
    resumes++;
    // Before the socket is back, so graphql-ws never sends the old subscription again.
    drop();
    dispatch({ type: "resuming" });
    follow(
      client.subscription(ChatPageResumeDocument, { streamId, afterSequence: last }),
      "resumeChatCompletionStream",
    );
    return true;
  };

  const stopListening = gateway.onConnectionLost(() => {
    if (settled) return;
    // A resume is sent again by graphql-ws itself once the socket is back: harmless, since
    // the page drops what it already has. Only the original must never be sent twice.
    if (following === "resumeChatCompletionStream") {
      dispatch({ type: "resuming" });
      return;
    }
    if (resume()) return;
    // Nothing to resume (no event yet): never let the question be asked twice.
    drop();
    settle({ type: "interrupted", message: "The connection to the gateway was lost." });
  });

  follow(client.subscription(ChatPageAnswerDocument, { input }), "chatCompletionStream");
  return {
    stop() {
      if (settled) return;
      const wasResuming = current !== undefined && resumes > 0;
      settle({ type: "stopped" });
      drop();
      // While reconnecting, `complete` may never reach the gateway: cancel by id as well.
      if (wasResuming && streamId) {
        void client.mutation(ChatPageCancelDocument, { streamId }).toPromise();
      }
    },
  };
}

/** What to tell the person when the gateway refused the question or the socket closed. */
export function refusal(
  error: CombinedError,
  resuming = false,
): Extract<TurnAction, { type: "refused" | "interrupted" }> {
  const [first] = error.graphQLErrors;
  if (first) {
    const code = String(first.extensions?.code ?? "ERROR");
    if (resuming && (code === "STREAM_NOT_FOUND" || code === "RESUME_UNAVAILABLE")) {
      return {
        type: "interrupted",
        message: "The connection to the gateway was lost for too long to resume the answer.",
      };
    }
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
