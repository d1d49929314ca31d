/**
 * A load-generating process of bench/streams.ts: opens its share of the streams on a shared
 * schedule (the ramp), reads every event, and checks each delta against the stub upstream's
 * numbering, so a lost, repeated or reordered delta is counted, not guessed. Several of these
 * run side by side so the clients are not the bottleneck of the process they measure; each
 * reports its own CPU time, peak RSS and event-loop delay, which show if they were.
 *
 * Transports: `direct` (the upstream's SSE, read the way a relay reads it), `sse` (the
 * gateway's subscription over SSE, one HTTP connection per stream), `sse-single` (graphql-sse's
 * single connection mode: many subscriptions share one event stream, each started by its own
 * `POST`) and `ws` (graphql-ws, many subscriptions per socket).
 */

import { monitorEventLoopDelay } from "node:perf_hooks";
import { createParser } from "eventsource-parser";
import { createClient as createSseClient, type Client as SseClient } from "graphql-sse";
import type { Client } from "graphql-ws";
import { Agent, type RequestInit as UndiciRequestInit, fetch as undiciFetch } from "undici";
import { wsClient } from "./first-event.ts";
import { deltaIndex, INPUT, STREAM, streamEvent } from "./workload.ts";

export type Transport = "direct" | "sse" | "sse-single" | "ws";

export interface Plan {
  transport: Transport;
  /** The upstream's chat completions URL (direct) or the gateway's /graphql. */
  url: string;
  headers: Record<string, string>;
  /** Body of a direct request. */
  directBody: string;
  /** This client's streams: global indexes k, started at k × rampMs / total. */
  streams: number[];
  total: number;
  rampMs: number;
  deltas: number;
  /** Subscriptions per graphql-ws socket or single-connection event stream. */
  perSocket: number;
  /** From go, when every stream still open is abandoned and counted unfinished. */
  deadlineMs: number;
  connectTimeoutMs: number;
}

export interface ClientResult {
  /** ms from request to first event per stream; -1 when none came. */
  firstEvent: number[];
  completed: number;
  failed: number;
  unfinished: number;
  /**
   * Of the unfinished SSE streams (gateway or direct), those whose request never got response
   * headers: still waiting to be accepted or answered, not waiting for events.
   */
  unanswered: number;
  deltas: number;
  /** Deltas missing before one that arrived, or before the end of a completed stream. */
  lostDeltas: number;
  /** Why streams failed: connection error codes, HTTP statuses, GraphQL codes. */
  errors: Record<string, number>;
  cpuMs: number;
  peakRssBytes: number;
  lagP99Ms: number;
}

type Message = { plan: Plan } | { go: number };

class Track {
  readonly t0 = performance.now();
  first = -1;
  /** SSE: response headers arrived. */
  answered = false;
  next = 0;
  received = 0;
  lost = 0;
  state: "open" | "done" | "failed" = "open";

  constructor(
    readonly deltas: number,
    readonly onEnd: (t: Track, error?: string) => void,
  ) {}

  chunks() {
    if (this.first < 0) this.first = performance.now() - this.t0;
  }
  delta(content: string) {
    const index = deltaIndex(content);
    this.received++;
    if (index > this.next) this.lost += index - this.next;
    if (index >= this.next) this.next = index + 1;
  }
  done() {
    if (this.state !== "open") return;
    this.state = "done";
    this.lost += Math.max(0, this.deltas - this.next);
    this.onEnd(this);
  }
  fail(why: string) {
    if (this.state !== "open") return;
    this.state = "failed";
    this.onEnd(this, why);
  }
}

const errorKind = (error: unknown): string => {
  const e = error as { code?: unknown; name?: string; message?: string; reason?: string };
  if (typeof e?.code === "string") return e.code;
  if (typeof e?.code === "number") return `ws close ${e.code}${e.reason ? ` ${e.reason}` : ""}`;
  if (Array.isArray(error)) {
    const code = (error[0] as { extensions?: { code?: string } })?.extensions?.code;
    return `graphql ${code ?? "error"}`;
  }
  return e?.name ?? String(error);
};

function run(plan: Plan, go: number): Promise<ClientResult> {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpu = process.cpuUsage();
  const agent = new Agent({
    connect: { timeout: plan.connectTimeoutMs },
    headersTimeout: plan.deadlineMs,
    bodyTimeout: plan.deadlineMs,
  });
  const url = new URL(plan.url);
  const tracks: Track[] = [];
  const aborts: AbortController[] = [];
  const sockets: Client[] = [];
  const eventStreams: SseClient<true>[] = [];
  const result: ClientResult = {
    firstEvent: [],
    completed: 0,
    failed: 0,
    unfinished: 0,
    unanswered: 0,
    deltas: 0,
    lostDeltas: 0,
    errors: {},
    cpuMs: 0,
    peakRssBytes: 0,
    lagP99Ms: 0,
  };
  let open = plan.streams.length;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const onEnd = (_t: Track, error?: string) => {
    if (error) result.errors[error] = (result.errors[error] ?? 0) + 1;
    if (--open === 0) finish();
  };

  const readSse = async (
    t: Track,
    body: string,
    onEvent: (event: string | undefined, data: string) => void,
  ) => {
    const abort = new AbortController();
    aborts.push(abort);
    try {
      const res = await agent.request({
        origin: url.origin,
        path: url.pathname,
        method: "POST",
        headers: {
          ...plan.headers,
          accept: "text/event-stream",
          "content-type": "application/json",
        },
        body,
        signal: abort.signal,
      });
      t.answered = true;
      if (res.statusCode !== 200) {
        await res.body.dump();
        return t.fail(`http ${res.statusCode}`);
      }
      const parser = createParser({ onEvent: (e) => onEvent(e.event, e.data) });
      const decoder = new TextDecoder();
      for await (const part of res.body)
        parser.feed(decoder.decode(part as Buffer, { stream: true }));
      t.fail("ended early");
    } catch (error) {
      if (!abort.signal.aborted) t.fail(errorKind(error));
    }
  };

  const onGraphqlEvent = (t: Track, payload: unknown) => {
    const event = streamEvent(payload);
    if ((payload as { errors?: unknown }).errors)
      return t.fail(errorKind((payload as { errors: unknown }).errors));
    switch (event?.__typename) {
      case "ChatCompletionChunksEvent":
        return t.chunks();
      case "ChatCompletionDeltaEvent":
        return t.delta(event.content ?? "");
      case "ChatCompletionDoneEvent":
        return t.done();
      case "ChatCompletionFailedEvent":
        return t.fail(`failed event ${event.code}`);
    }
  };

  /** Where a graphql-ws or graphql-sse client delivers one stream's results. */
  const sinkOf = (t: Track) => ({
    next: (payload: unknown) => onGraphqlEvent(t, payload),
    error: (error: unknown) => t.fail(errorKind(error)),
    complete: () => t.fail("completed without done"),
  });

  const subscription = JSON.stringify({ query: STREAM, variables: { input: INPUT } });
  const start = (j: number) => {
    const t = new Track(plan.deltas, onEnd);
    tracks.push(t);
    if (plan.transport === "direct") {
      void readSse(t, plan.directBody, (event, data) => {
        if (event === "chunks") return t.chunks();
        if (data === "[DONE]") return t.done();
        const content = (JSON.parse(data) as { choices?: { delta?: { content?: string } }[] })
          .choices?.[0]?.delta?.content;
        if (content) t.delta(content);
      });
    } else if (plan.transport === "sse") {
      void readSse(t, subscription, (event, data) => {
        if (event === "next") onGraphqlEvent(t, JSON.parse(data));
        else if (event === "complete") t.fail("completed without done");
      });
    } else if (plan.transport === "sse-single") {
      const stream = Math.floor(j / plan.perSocket);
      eventStreams[stream] ??= createSseClient({
        url: plan.url,
        singleConnection: true,
        // A copy each: the client writes its stream's token into the object it is given, so
        // clients sharing one would post their operations to each other's streams.
        headers: { ...plan.headers },
        retryAttempts: 0,
        // Through this client's agent, as the other transports: its connect timeout applies,
        // and the global fetch's pool is not shared with anything else in the process.
        fetchFn: (url: string, init: UndiciRequestInit) =>
          undiciFetch(url, { ...init, dispatcher: agent }),
      });
      eventStreams[stream].subscribe({ query: STREAM, variables: { input: INPUT } }, sinkOf(t));
    } else {
      const socket = Math.floor(j / plan.perSocket);
      sockets[socket] ??= wsClient(plan.url, plan.headers);
      sockets[socket].subscribe({ query: STREAM, variables: { input: INPUT } }, sinkOf(t));
    }
  };

  const timers = plan.streams.map((k, j) =>
    setTimeout(() => start(j), Math.max(0, go + (k * plan.rampMs) / plan.total - Date.now())),
  );
  const deadline = setTimeout(finish, Math.max(0, go + plan.deadlineMs - Date.now()));
  return finished.then(async () => {
    clearTimeout(deadline);
    for (const timer of timers) clearTimeout(timer);
    const used = process.cpuUsage(cpu);
    for (const t of tracks) {
      result.firstEvent.push(t.first);
      result.deltas += t.received;
      result.lostDeltas += t.lost;
      if (t.state === "done") result.completed++;
      else if (t.state === "failed") result.failed++;
      else {
        result.unfinished++;
        if ((plan.transport === "sse" || plan.transport === "direct") && !t.answered)
          result.unanswered++;
      }
    }
    // Never started (the deadline came first): no first event either.
    for (let i = tracks.length; i < plan.streams.length; i++) result.firstEvent.push(-1);
    result.unfinished += plan.streams.length - tracks.length;
    result.cpuMs = (used.user + used.system) / 1000;
    result.peakRssBytes = process.resourceUsage().maxRSS * 1024;
    result.lagP99Ms = Math.max(0, lag.percentile(99) / 1e6 - 10);
    for (const abort of aborts) abort.abort();
    for (const stream of eventStreams) stream.dispose();
    await Promise.allSettled(sockets.map((s) => s.dispose()));
    await agent.destroy();
    return result;
  });
}

/**
 * Direct only: one JSON answer before the clock starts, so the HTTP client's one-off costs
 * (compiling its parser, first connection) are not charged to the deltas it then relays, as
 * the gateway's are not (it has answered its readiness probe by then).
 */
async function warmUp(plan: Plan): Promise<void> {
  if (plan.transport !== "direct") return;
  const url = new URL(plan.url);
  const body = JSON.stringify({ ...JSON.parse(plan.directBody), stream: false });
  const agent = new Agent();
  const res = await agent.request({
    origin: url.origin,
    path: url.pathname,
    method: "POST",
    headers: { ...plan.headers, "content-type": "application/json" },
    body,
  });
  await res.body.dump();
  await agent.close();
}

let plan: Plan | undefined;
process.on("message", (message: Message) => {
  if ("plan" in message) {
    plan = message.plan;
    void warmUp(plan).then(() => process.send!({ ready: true }));
  } else if (plan) {
    void run(plan, message.go).then((result) => {
      process.send!({ result }, () => process.exit(0));
    });
  }
});
process.on("disconnect", () => process.exit(1));
