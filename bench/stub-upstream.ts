/**
 * The upstream the benches measure against, in its own process (forked by bench/targets.ts).
 *
 * By default a stub that answers from memory: at start-up it asks the embedded local AI Search
 * (in this process) the bench's question once and keeps the wire JSON of the answer and of the
 * namespace list, then closes it and serves those bytes, after a fixed injected latency, for
 * every request. The local AI Search retrieves and composes an answer per request, which costs
 * about 0.7 ms of CPU, half of what the gateway itself spends: on two shared cores that would
 * be taken from the process under test, and the runs assume an upstream of fixed
 * latency and almost no CPU. The stub answers in a few µs, so the CPU left to the measured
 * process is the same on every path.
 *
 * Streams are made here, not recorded: the chunks event, a keep-alive comment, DELTAS deltas
 * one STREAM_DELAY_MS apart whose content starts with their index ("7 …"), so a client can
 * tell a lost or reordered delta from the text alone, then the finish frame and `[DONE]`, as
 * the real API sends them. One timer per stream; Node keeps timers of equal duration in one
 * list, so 10,000 streams cost no more timer work than one list walk per tick.
 *
 * `BENCH_UPSTREAM=local` runs the real local AI Search instead (with the same latency), for a
 * run that wants its realism over a quiet upstream.
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { startLocalAiSearch } from "../src/local/server.ts";
import { reportExtraStats } from "./probe.ts";
import { BENCH_ACCOUNT, DIRECT_BODY } from "./workload.ts";

const env = process.env;
const token = env.BENCH_TOKEN ?? "";
const latencyMs = Number(env.BENCH_LATENCY_MS ?? 20);
const streamDelayMs = Number(env.BENCH_STREAM_DELAY_MS ?? 0);
const deltaCount = Number(env.BENCH_STREAM_DELTAS ?? 40);
const PREFIX = "/client/v4";

/** What the local AI Search answered, recorded once. */
async function record(): Promise<{ chat: Buffer; namespaces: Buffer; model: string }> {
  const local = await startLocalAiSearch({ apiToken: token, streamDelayMs: 0 });
  try {
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const base = `${local.baseUrl}/accounts/${BENCH_ACCOUNT}/ai-search/namespaces`;
    const chat = await fetch(`${base}/default/chat/completions`, {
      method: "POST",
      headers,
      body: JSON.stringify(DIRECT_BODY),
    });
    const namespaces = await fetch(`${base}?per_page=1`, { headers });
    if (!chat.ok || !namespaces.ok) throw new Error("the local AI Search did not answer");
    const chatText = await chat.text();
    return {
      chat: Buffer.from(chatText),
      namespaces: Buffer.from(await namespaces.text()),
      model: (JSON.parse(chatText) as { model: string }).model,
    };
  } finally {
    await local.close();
  }
}

const counters = { requests: 0, streams: 0, openStreams: 0, unexpected: 0 };

async function serveStub(): Promise<string> {
  reportExtraStats(() => ({ ...counters }));
  const recorded = await record();
  const chunks = (JSON.parse(recorded.chat.toString()) as { chunks: unknown[] }).chunks;
  const base = { id: "chatcmpl-bench", created: 1_700_000_000, model: recorded.model };
  const frame = (choice: object) =>
    `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, ...choice }] })}\n\n`;
  const opening = Buffer.from(`event: chunks\ndata: ${JSON.stringify(chunks)}\n\n: keep-alive\n\n`);
  const deltas = Array.from({ length: deltaCount }, (_, i) =>
    Buffer.from(frame({ delta: { content: `${i} of the answer ` } })),
  );
  const ending = Buffer.from(`${frame({ delta: {}, finish_reason: "stop" })}data: [DONE]\n\n`);

  const stream = (res: ServerResponse) => {
    counters.streams++;
    counters.openStreams++;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
    });
    res.write(opening);
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const next = () => {
      if (res.destroyed) return;
      if (sent === deltas.length) {
        res.end(ending);
        return;
      }
      res.write(deltas[sent++]);
      timer = setTimeout(next, streamDelayMs);
    };
    res.on("close", () => {
      counters.openStreams--;
      clearTimeout(timer);
    });
    next();
  };
  const send = (res: ServerResponse, status: number, body: Buffer) => {
    res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
    res.end(body);
  };
  const refusal = (status: number, message: string) =>
    Buffer.from(JSON.stringify({ success: false, errors: [{ code: status, message }] }));

  const answer = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = req.url ?? "";
    if (req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 401, refusal(10_000, "Authentication error"));
    }
    if (req.method === "GET" && /^\/accounts\/[^/]+\/ai-search\/namespaces(\?|$)/.test(url)) {
      return send(res, 200, recorded.namespaces);
    }
    if (
      req.method === "POST" &&
      /^\/accounts\/[^/]+\/ai-search\/namespaces\/[^/]+\/chat\/completions$/.test(url)
    ) {
      let streamed: boolean;
      try {
        streamed = (JSON.parse(body) as { stream?: boolean }).stream === true;
      } catch {
        return send(res, 400, refusal(400, "malformed JSON body"));
      }
      return streamed ? stream(res) : send(res, 200, recorded.chat);
    }
    // A gateway that calls more than the bench expects should show up in the report.
    counters.unexpected++;
    send(res, 404, refusal(404, `the bench stub does not serve ${req.method} ${url}`));
  };

  const server = createServer((req, res) => {
    counters.requests++;
    req.url = req.url?.startsWith(PREFIX) ? req.url.slice(PREFIX.length) : `/unknown${req.url}`;
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (part: string) => {
      body += part;
    });
    req.on("end", () => {
      if (latencyMs > 0) setTimeout(answer, latencyMs, req, res, body);
      else answer(req, res, body);
    });
  });
  // A deep backlog: a scale run opens thousands of connections within seconds.
  server.listen({ port: 0, host: "127.0.0.1", backlog: 16_384 });
  await new Promise((resolve) => server.once("listening", resolve));
  process.on("SIGTERM", () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${PREFIX}`;
}

async function serveLocal(): Promise<string> {
  const local = await startLocalAiSearch({
    apiToken: token,
    streamDelayMs,
    faults: { latencyMs },
  });
  reportExtraStats(() => ({ openConnections: local.openConnections() }));
  // The request log serves tests; under load it would grow without bound.
  const trim = setInterval(() => local.resetRequests(), 1_000);
  process.on("SIGTERM", () => {
    clearInterval(trim);
    void local.close().then(() => process.exit(0));
  });
  return local.baseUrl;
}

const url = await (env.BENCH_UPSTREAM === "local" ? serveLocal() : serveStub());
process.send?.({ url });
