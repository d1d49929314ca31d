/**
 * The conversation as data: each turn is a question and the answer streamed for it, updated by
 * one pure function per stream event. No DOM, no network: the tests drive it directly.
 */

import type {
  ChatMessageInput,
  ChatPageAnswerSubscription,
  ChatPageChunkFragment,
} from "../../operations/generated/graphql.ts";

export type StreamEvent = ChatPageAnswerSubscription["chatCompletionStream"];
export type Chunk = ChatPageChunkFragment;

/**
 * - `retrieving`: asked, no event yet; `writing`: chunks arrived, text is streaming;
 * - `done`: the whole answer arrived; `stopped`: the person pressed stop;
 * - `failed`: the gateway refused or the stream ended with a failure event;
 * - `interrupted`: the connection went away mid-answer.
 */
export type TurnStatus = "retrieving" | "writing" | "done" | "stopped" | "failed" | "interrupted";

export interface Turn {
  id: number;
  question: string;
  namespace: string;
  instanceIds: readonly string[];
  status: TurnStatus;
  answer: string;
  /** Unset until the chunks event arrives. */
  chunks?: readonly Chunk[];
  instanceErrors: readonly { instanceId: string; message: string }[];
  /**
   * The last delta applied. A resumed stream (`resumeChatCompletionStream(streamId,
   * afterSequence)`, still to come) starts after it, and the reducer already drops any delta
   * at or below it, so a replayed delta is never written twice.
   */
  lastSequence: number;
  /** A delta went missing (its sequence was skipped); the done event's full text repairs it. */
  gap: boolean;
  failure?: { code: string; message: string; retryable: boolean };
  model?: string;
}

export type TurnAction =
  | { type: "event"; event: StreamEvent }
  | { type: "stopped" }
  | { type: "interrupted"; message: string }
  | { type: "refused"; code: string; message: string; retryable: boolean };

export function newTurn(
  id: number,
  question: string,
  namespace: string,
  instanceIds: readonly string[],
): Turn {
  return {
    id,
    question,
    namespace,
    instanceIds,
    status: "retrieving",
    answer: "",
    instanceErrors: [],
    lastSequence: -1,
    gap: false,
  };
}

export const isStreaming = (turn: Turn): boolean =>
  turn.status === "retrieving" || turn.status === "writing";

/** The turn after one action; a finished turn ignores whatever still arrives. */
export function applyToTurn(turn: Turn, action: TurnAction): Turn {
  if (!isStreaming(turn)) return turn;
  switch (action.type) {
    case "stopped":
      return { ...turn, status: "stopped" };
    case "interrupted":
      return {
        ...turn,
        status: "interrupted",
        failure: { code: "INTERRUPTED", message: action.message, retryable: true },
      };
    case "refused":
      return {
        ...turn,
        status: "failed",
        failure: { code: action.code, message: action.message, retryable: action.retryable },
      };
    case "event":
      return applyEvent(turn, action.event);
  }
}

function applyEvent(turn: Turn, event: StreamEvent): Turn {
  switch (event.__typename) {
    case "ChatCompletionChunksEvent":
      return {
        ...turn,
        status: "writing",
        chunks: event.chunks,
        instanceErrors: event.errors,
      };
    case "ChatCompletionDeltaEvent":
      if (event.sequence <= turn.lastSequence) return turn;
      return {
        ...turn,
        status: "writing",
        answer: turn.answer + event.content,
        lastSequence: event.sequence,
        gap: turn.gap || event.sequence > turn.lastSequence + 1,
      };
    case "ChatCompletionDoneEvent":
      return {
        ...turn,
        status: "done",
        // The assembled text is the answer of record, whatever the deltas added up to.
        answer: event.completion.content ?? turn.answer,
        model: event.completion.model ?? undefined,
        gap: false,
      };
    case "ChatCompletionFailedEvent":
      return {
        ...turn,
        status: "failed",
        failure: { code: event.code, message: event.message, retryable: event.retryable },
      };
  }
}

/**
 * The `messages` for a new question: every earlier exchange whose answer arrived in full,
 * then the question. A stopped, failed or interrupted answer is left out with its question:
 * the model should not build on half an answer.
 */
export function messagesFor(turns: readonly Turn[], question: string): ChatMessageInput[] {
  const history = turns
    .filter((turn) => turn.status === "done")
    .flatMap((turn): ChatMessageInput[] => [
      { role: "USER", content: turn.question },
      { role: "ASSISTANT", content: turn.answer },
    ]);
  return [...history, { role: "USER", content: question }];
}
