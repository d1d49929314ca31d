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
 * - `resuming`: the connection went away mid-answer; the page reconnects and resumes the
 *   stream after the last event it applied;
 * - `done`: the whole answer arrived; `stopped`: the person pressed stop;
 * - `failed`: the gateway refused or the stream ended with a failure event;
 * - `interrupted`: the connection went away and the answer could not be resumed.
 */
export type TurnStatus =
  | "retrieving"
  | "writing"
  | "resuming"
  | "done"
  | "stopped"
  | "failed"
  | "interrupted";

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
  /** The stream the answer comes from, once its first event arrived. */
  streamId?: string;
  /**
   * The `sequence` of the last event applied (every event has one: the chunks event 0, then
   * +1 each). A resume (`resumeChatCompletionStream(streamId, afterSequence)`) starts after
   * it, and the reducer drops any event at or below it, so nothing is written twice.
   */
  lastSequence: number;
  /** An event went missing (its sequence was skipped); the done event's full text repairs it. */
  gap: boolean;
  /** How many times the answer was resumed after a lost connection. */
  resumes: number;
  failure?: { code: string; message: string; retryable: boolean };
  model?: string;
}

export type TurnAction =
  | { type: "event"; event: StreamEvent }
  /** The connection went away; the stream is being resumed. */
  | { type: "resuming" }
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
    resumes: 0,
  };
}

export const isStreaming = (turn: Turn): boolean =>
  turn.status === "retrieving" || turn.status === "writing" || turn.status === "resuming";

/** The turn after one action; a finished turn ignores whatever still arrives. */
export function applyToTurn(turn: Turn, action: TurnAction): Turn {
  if (!isStreaming(turn)) return turn;
  switch (action.type) {
    case "resuming":
      return { ...turn, status: "resuming", resumes: turn.resumes + 1 };
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
  // A replayed event (a resume overlapping what arrived before the connection went) is done.
  if (event.sequence <= turn.lastSequence) return turn;
  const placed = {
    ...turn,
    streamId: event.streamId,
    lastSequence: event.sequence,
    gap: turn.gap || event.sequence > turn.lastSequence + 1,
  };
  switch (event.__typename) {
    case "ChatCompletionChunksEvent":
      return {
        ...placed,
        status: "writing",
        chunks: event.chunks,
        instanceErrors: event.errors,
      };
    case "ChatCompletionDeltaEvent":
      return { ...placed, status: "writing", answer: turn.answer + event.content };
    case "ChatCompletionDoneEvent":
      return {
        ...placed,
        status: "done",
        // The assembled text is the answer of record, whatever the deltas added up to.
        answer: event.completion.content ?? turn.answer,
        model: event.completion.model ?? undefined,
        gap: false,
      };
    case "ChatCompletionFailedEvent":
      return {
        ...placed,
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
