import { describe, expect, it } from "vitest";
import { UpstreamProtocolError } from "../../src/upstream/errors.ts";
import { parseChatStream } from "../../src/upstream/sse.ts";
import type { StreamEvent } from "../../src/upstream/types.ts";

const encoder = new TextEncoder();

const chunk = {
  id: "c1",
  instance_id: "docs",
  score: 0.9,
  text: "Zürich 🚀 text",
  type: "text",
  item: { key: "a.md" },
};

function frame(content: string | null, finish: string | null = null, extra = {}): string {
  const delta = content === null ? {} : { content };
  return JSON.stringify({
    id: "id-1",
    created: 1776072781,
    model: "@cf/test",
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  });
}

/** A realistic stream: per-instance errors, chunks, a keep-alive, deltas (one non-ASCII), stop. */
const CANONICAL = [
  `event: errors\ndata: ${JSON.stringify([{ instance_id: "broken", message: "down" }])}\n\n`,
  `event: chunks\ndata: ${JSON.stringify([chunk])}\n\n`,
  ": keep-alive\n\n",
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant" } }] })}\n\n`,
  `data: ${frame("Grüß ")}\n\n`,
  `data: ${frame("dich 👋")}\n\n`,
  `data: ${frame(null, "stop")}\n\n`,
  "data: [DONE]\n\n",
].join("");

const CANONICAL_EVENTS: StreamEvent[] = [
  { type: "chunks", chunks: [chunk], errors: [{ instance_id: "broken", message: "down" }] },
  {
    type: "delta",
    sequence: 0,
    content: "Grüß ",
    finishReason: null,
    id: "id-1",
    model: "@cf/test",
    created: 1776072781,
  },
  {
    type: "delta",
    sequence: 1,
    content: "dich 👋",
    finishReason: null,
    id: "id-1",
    model: "@cf/test",
    created: 1776072781,
  },
  {
    type: "delta",
    sequence: 2,
    content: "",
    finishReason: "stop",
    id: "id-1",
    model: "@cf/test",
    created: 1776072781,
  },
  { type: "done" },
];

async function* pieces(parts: (Uint8Array | string)[]): AsyncGenerator<Uint8Array | string> {
  for (const part of parts) yield part;
}

async function collect(
  parts: (Uint8Array | string)[],
  options?: { maxEventChars?: number },
): Promise<{ events: StreamEvent[]; error?: unknown }> {
  const events: StreamEvent[] = [];
  try {
    for await (const event of parseChatStream(pieces(parts), options)) events.push(event);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

function protocolReason(error: unknown): string | undefined {
  return error instanceof UpstreamProtocolError ? error.reason : undefined;
}

describe("parseChatStream", () => {
  it("yields chunks (with their errors), contiguous deltas, a finish delta, then done", async () => {
    const { events, error } = await collect([encoder.encode(CANONICAL)]);
    expect(error).toBeUndefined();
    expect(events).toEqual(CANONICAL_EVENTS);
  });

  it("gives the same events however the bytes are split into two reads", async () => {
    const bytes = encoder.encode(CANONICAL);
    for (let offset = 1; offset < bytes.length; offset++) {
      const { events, error } = await collect([bytes.subarray(0, offset), bytes.subarray(offset)]);
      if (error || events.length !== CANONICAL_EVENTS.length) {
        throw new Error(`split at byte ${offset}: ${String(error)} (${events.length} events)`);
      }
      expect(events).toEqual(CANONICAL_EVENTS);
    }
  });

  it("copes with one byte per read (multi-byte characters split too)", async () => {
    const bytes = encoder.encode(CANONICAL);
    const parts = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    expect((await collect(parts)).events).toEqual(CANONICAL_EVENTS);
  });

  it("accepts CRLF and bare CR line ends, split at every offset", async () => {
    for (const eol of ["\r\n", "\r"]) {
      const text = CANONICAL.replaceAll("\n", eol);
      const bytes = encoder.encode(text);
      for (let offset = 1; offset < bytes.length; offset += 7) {
        const { events } = await collect([bytes.subarray(0, offset), bytes.subarray(offset)]);
        expect(events).toEqual(CANONICAL_EVENTS);
      }
    }
  });

  it("joins multi-line data fields with newlines before parsing", async () => {
    const chunksJson = JSON.stringify([chunk], null, 2).split("\n");
    const text = [
      "event: chunks\n",
      ...chunksJson.map((line) => `data: ${line}\n`),
      "\n",
      'data: {"choices":[{"index":0,\n',
      'data: "delta":{"content":"two\\nlines"}}]}\n\n',
      "data: [DONE]\n\n",
    ].join("");
    const { events, error } = await collect([text]);
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: "chunks", chunks: [chunk] },
      { type: "delta", sequence: 0, content: "two\nlines", finishReason: null },
      { type: "done" },
    ]);
  });

  it("ignores comments and keep-alives anywhere, and unknown fields and events", async () => {
    const text = [
      ": hello\n",
      "event: chunks\ndata: []\n\n",
      ":\n\n",
      "retry: 1000\nid: 7\nfoo: bar\n\n",
      "event: telemetry\ndata: whatever\n\n",
      `data: ${frame("a")}\n\n`,
      ": keep-alive\r\n\r\n",
      `data: ${frame("b", "stop")}\n\n`,
      "data: [DONE]\n\n",
    ].join("");
    const { events, error } = await collect([text]);
    expect(error).toBeUndefined();
    expect(events.map((e) => (e.type === "delta" ? `${e.sequence}:${e.content}` : e.type))).toEqual(
      ["chunks", "0:a", "1:b", "done"],
    );
  });

  it("keeps sequence contiguous when frames carry nothing (role-only, empty choices)", async () => {
    const text = [
      "event: chunks\ndata: []\n\n",
      `data: ${frame("x")}\n\n`,
      `data: ${JSON.stringify({ choices: [], usage: { total_tokens: 3 } })}\n\n`,
      `data: ${frame("")}\n\n`,
      `data: ${frame(null)}\n\n`,
      `data: ${frame("y")}\n\n`,
      `data: ${frame("z", "length")}\n\n`,
      "data: [DONE]\n\n",
    ].join("");
    const { events } = await collect([text]);
    const deltas = events.filter((e) => e.type === "delta");
    expect(deltas.map((d) => [d.sequence, d.content, d.finishReason])).toEqual([
      [0, "x", null],
      [1, "y", null],
      [2, "z", "length"],
    ]);
  });

  it("synthesises an empty chunks event when deltas come without one", async () => {
    const { events } = await collect([`data: ${frame("hi")}\n\ndata: [DONE]\n\n`]);
    expect(events[0]).toEqual({ type: "chunks", chunks: [] });
    expect(events.map((e) => e.type)).toEqual(["chunks", "delta", "done"]);
  });

  it("attaches an earlier errors frame to the chunks event, even across reads", async () => {
    const errors = [{ instance_id: "x", message: "boom" }];
    const { events } = await collect([
      `event: errors\ndata: ${JSON.stringify(errors)}\n\n`,
      "event: chunks\ndata: []\n\n",
      `data: ${frame("a")}\n\ndata: [DONE]\n\n`,
    ]);
    expect(events[0]).toEqual({ type: "chunks", chunks: [], errors });
  });

  it("yields the chunks event as soon as it arrives, before any delta", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* source() {
      yield "event: chunks\ndata: []\n\n";
      await gate;
      yield `data: ${frame("a")}\n\ndata: [DONE]\n\n`;
    }
    const iterator = parseChatStream(source())[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ type: "chunks", chunks: [] });
    release();
    expect((await iterator.next()).value).toMatchObject({ type: "delta", content: "a" });
  });

  it("accepts the object form of the chunks event", async () => {
    const errors = [{ instance_id: "x", message: "boom" }];
    const data = JSON.stringify({ chunks: [chunk], errors });
    const { events } = await collect([`event: chunks\ndata: ${data}\n\ndata: [DONE]\n\n`]);
    expect(events).toEqual([{ type: "chunks", chunks: [chunk], errors }, { type: "done" }]);
  });

  it("fails with missing-done when the body ends without [DONE], after yielding what came", async () => {
    const text = CANONICAL.replace("data: [DONE]\n\n", "");
    const { events, error } = await collect([text]);
    expect(protocolReason(error)).toBe("missing-done");
    expect(events).toEqual(CANONICAL_EVENTS.slice(0, -1));
  });

  it("fails on an empty body (missing-done) and on a truncated [DONE] (malformed-sse)", async () => {
    expect(protocolReason((await collect([])).error)).toBe("missing-done");
    const onlyChunks = await collect(["event: chunks\ndata: []\n\n"]);
    expect(onlyChunks.events).toEqual([{ type: "chunks", chunks: [] }]);
    expect(protocolReason(onlyChunks.error)).toBe("missing-done");
    const truncated = await collect(["event: chunks\ndata: []\n\ndata: [DON"]);
    expect(protocolReason(truncated.error)).toBe("malformed-sse");
  });

  it("accepts [DONE] whose final blank line (or newline) is missing", async () => {
    for (const ending of ["data: [DONE]\n", "data: [DONE]", "data: [DONE]\r"]) {
      const { events, error } = await collect([`event: chunks\ndata: []\n\n${ending}`]);
      expect(error).toBeUndefined();
      expect(events.map((e) => e.type)).toEqual(["chunks", "done"]);
    }
  });

  it("fails with malformed-sse when a data frame is not JSON", async () => {
    const { events, error } = await collect([
      "event: chunks\ndata: []\n\n",
      'data: {"id": this is not JSON\n\n',
      "data: [DONE]\n\n",
    ]);
    expect(protocolReason(error)).toBe("malformed-sse");
    expect(error).toBeInstanceOf(UpstreamProtocolError);
    expect((error as Error).message).not.toContain("this is not JSON");
    // The chunks arrived intact before the bad frame, so they are delivered first.
    expect(events).toEqual([{ type: "chunks", chunks: [] }]);
  });

  it("fails on malformed chunks, non-object frames, duplicate chunks and error events", async () => {
    const cases: [string, string][] = [
      ["event: chunks\ndata: {nope\n\n", "malformed-sse"],
      ['event: chunks\ndata: "text"\n\n', "unexpected-shape"],
      ["data: 42\n\n", "unexpected-shape"],
      ['data: {"choices":"no"}\n\n', "unexpected-shape"],
      ["event: chunks\ndata: []\n\nevent: chunks\ndata: []\n\n", "sse-out-of-order"],
      [
        `event: chunks\ndata: []\n\ndata: ${frame("a")}\n\nevent: chunks\ndata: []\n\n`,
        "sse-out-of-order",
      ],
      ['event: error\ndata: {"message":"overloaded"}\n\n', "sse-error-event"],
    ];
    for (const [text, reason] of cases) {
      const { error } = await collect([`${text}data: [DONE]\n\n`]);
      expect(protocolReason(error), text).toBe(reason);
    }
  });

  it("fails when a single event outgrows maxEventChars", async () => {
    const huge = `data: ${"x".repeat(5000)}`;
    const { error } = await collect([huge.slice(0, 2500), huge.slice(2500)], {
      maxEventChars: 1000,
    });
    expect(protocolReason(error)).toBe("malformed-sse");
  });

  it("strips a UTF-8 byte order mark at the start", async () => {
    const bytes = encoder.encode(`\uFEFF${CANONICAL}`);
    expect((await collect([bytes.subarray(0, 2), bytes.subarray(2)])).events).toEqual(
      CANONICAL_EVENTS,
    );
  });

  it("stops reading the source after [DONE]", async () => {
    let readAfterDone = false;
    async function* source() {
      yield "event: chunks\ndata: []\n\ndata: [DONE]\n\n";
      readAfterDone = true;
      yield "data: garbage\n\n";
    }
    const events: StreamEvent[] = [];
    for await (const event of parseChatStream(source())) events.push(event);
    expect(events.map((e) => e.type)).toEqual(["chunks", "done"]);
    expect(readAfterDone).toBe(false);
  });

  it("propagates the source's own errors unchanged, after the events before them", async () => {
    const failure = Object.assign(new Error("Body Timeout Error"), {
      code: "UND_ERR_BODY_TIMEOUT",
    });
    async function* source() {
      yield `event: chunks\ndata: []\n\ndata: ${frame("a")}\n\n`;
      throw failure;
    }
    const events: StreamEvent[] = [];
    await expect(async () => {
      for await (const event of parseChatStream(source())) events.push(event);
    }).rejects.toBe(failure);
    expect(events.map((e) => e.type)).toEqual(["chunks", "delta"]);
  });
});
