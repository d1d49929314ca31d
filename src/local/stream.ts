/**
 * Writing a streamed chat completion as Server-Sent Events, in upstream's order:
 * `event: chunks` (the retrieved chunks as one JSON array), then `chat.completion.chunk`
 * deltas, a final frame carrying `finish_reason: "stop"`, then `data: [DONE]`.
 *
 * Per-instance errors cannot ride in the chunks event (its data is a bare array), so when
 * there are any they precede it as one `event: errors` frame whose data is the InstanceError
 * array; a reader can then pass the chunks on the moment they arrive, errors attached.
 *
 * One `: keep-alive` comment precedes the first delta, so clients exercise comment handling in
 * every local run.
 */

import type { ServerResponse } from "node:http";
import type { ChatCompletionDeltaFrame, Chunk, InstanceError } from "../upstream/types.ts";
import type { FaultConfig } from "./faults.ts";
import { pause } from "./faults.ts";
import { writeHead } from "./http.ts";

export interface CompletionStream {
  chunks: Chunk[];
  errors: InstanceError[];
  frame: { id: string; created: number; model: string };
  /** Content pieces in order; iteration may throw (a failing LLM), which truncates the stream. */
  deltas: AsyncIterable<string> | Iterable<string>;
  /** Pause before every delta after the first. */
  delayMs: number;
  fault: FaultConfig | undefined;
  signal: AbortSignal;
}

/** Splits an answer into deltas of a few words each; joining them gives back `content`. */
export function splitIntoDeltas(content: string, wordsPerDelta = 3): string[] {
  const pieces = content.match(/\s+|\S+\s*/g) ?? [];
  const deltas: string[] = [];
  let current = "";
  let words = 0;
  for (const piece of pieces) {
    current += piece;
    if (/\S/.test(piece) && ++words === wordsPerDelta) {
      deltas.push(current);
      current = "";
      words = 0;
    }
  }
  if (current.length > 0) deltas.push(current);
  return deltas;
}

export async function writeCompletionStream(
  res: ServerResponse,
  stream: CompletionStream,
): Promise<void> {
  const { signal, fault } = stream;
  writeHead(res, 200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  if (stream.errors.length > 0) {
    await send(res, `event: errors\ndata: ${JSON.stringify(stream.errors)}\n\n`, signal);
  }
  await send(res, `event: chunks\ndata: ${JSON.stringify(stream.chunks)}\n\n`, signal);
  if (fault?.malformedSse) await send(res, `data: {"id": this is not JSON\n\n`, signal);
  await send(res, ": keep-alive\n\n", signal);

  const stallAfter = fault?.stallMidStreamAfterDeltas;
  let sent = 0;
  try {
    for await (const content of fault?.endlessStream ? endless(stream.deltas) : stream.deltas) {
      if (signal.aborted) return;
      if (stallAfter !== undefined && sent >= stallAfter) {
        // Keep the socket open and silent until the client gives up or the server closes.
        await pause(Number.POSITIVE_INFINITY, signal);
        return;
      }
      if (sent > 0 && stream.delayMs > 0 && !(await pause(stream.delayMs, signal))) return;
      await send(res, frame(stream.frame, { delta: { content } }), signal);
      sent += 1;
    }
  } catch {
    // The generator failed mid-answer; ending without [DONE] tells the client it is incomplete.
    if (!signal.aborted) res.end();
    return;
  }
  if (stallAfter !== undefined && sent >= stallAfter) {
    await pause(Number.POSITIVE_INFINITY, signal);
    return;
  }
  if (signal.aborted) return;
  await send(res, frame(stream.frame, { delta: {}, finish_reason: "stop" }), signal);
  if (!fault?.endWithoutDone) await send(res, "data: [DONE]\n\n", signal);
  res.end();
}

/** Repeats the answer forever: a misbehaving upstream a gateway must cut off by itself. */
async function* endless(deltas: AsyncIterable<string> | Iterable<string>): AsyncGenerator<string> {
  const seen: string[] = [];
  for await (const delta of deltas) {
    seen.push(delta);
    yield delta;
  }
  if (seen.length === 0) seen.push(" ");
  for (;;) yield* seen;
}

function frame(
  base: CompletionStream["frame"],
  choice: Omit<ChatCompletionDeltaFrame["choices"][number], "index">,
): string {
  const body: ChatCompletionDeltaFrame = {
    id: base.id,
    created: base.created,
    model: base.model,
    object: "chat.completion.chunk",
    choices: [{ index: 0, ...choice }],
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

/** Writes and respects backpressure, giving up quietly once the client is gone. */
async function send(res: ServerResponse, text: string, signal: AbortSignal): Promise<void> {
  if (signal.aborted || res.destroyed) return;
  if (res.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.on("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
