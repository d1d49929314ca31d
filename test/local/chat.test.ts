import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { splitIntoDeltas } from "../../src/local/stream.ts";
import type {
  ChatCompletionResponse,
  Envelope,
  Instance,
  SearchResult,
} from "../../src/upstream/types.ts";
import { type FakeOpenAi, startFakeOpenAi } from "./fake-openai.ts";
import {
  call,
  callJson,
  chunksEvent,
  parseSse,
  result,
  startSmallLocal,
  streamedText,
} from "./helpers.ts";

let local: LocalAiSearch;
let dir: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  ({ local, dir, stop } = await startSmallLocal({ streamDelayMs: 0 }));
});
afterAll(() => stop());

const NAMESPACE_CHAT = "/namespaces/default/chat/completions";
const question = (
  content: string,
  instance_ids = ["alpha", "beta"],
  extra: Record<string, unknown> = {},
) => ({
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content },
  ],
  ai_search_options: { instance_ids },
  ...extra,
});

describe("chat completions (extractive)", () => {
  it("answers at the top level, not in the envelope, citing item keys", async () => {
    const { status, body } = await callJson<ChatCompletionResponse & { success?: unknown }>(
      local.baseUrl,
      NAMESPACE_CHAT,
      { body: question("Which apples are sweet?") },
    );
    expect(status).toBe(200);
    expect(body.success).toBeUndefined();
    expect(body.id).toMatch(/^chatcmpl-local-\d+$/);
    expect(body).toMatchObject({ object: "chat.completion", model: "local/extractive" });
    expect(Number.isInteger(body.created)).toBe(true);
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0]).toMatchObject({
      index: 0,
      finish_reason: "stop",
      message: { role: "assistant" },
    });
    const content = body.choices[0]!.message.content as string;
    expect(content).toContain("Red apples are sweet and green apples are sour. [apples.md]");
    expect(content).toMatch(/Sources: apples\.md \(alpha\)/);
    expect(body.errors).toBeUndefined();

    const search = await result<SearchResult>(local.baseUrl, "/namespaces/default/search", {
      body: {
        query: "Which apples are sweet?",
        ai_search_options: { instance_ids: ["alpha", "beta"] },
      },
    });
    expect(body.chunks).toEqual(search.chunks);
  });

  it("numbers completions and reports the model that actually answered", async () => {
    const a = await callJson<ChatCompletionResponse>(local.baseUrl, NAMESPACE_CHAT, {
      body: question("apples", ["alpha"], { model: "@cf/meta/llama" }),
    });
    const b = await callJson<ChatCompletionResponse>(local.baseUrl, NAMESPACE_CHAT, {
      body: question("apples", ["alpha"]),
    });
    expect(a.body.model).toBe("local/extractive");
    expect(Number(b.body.id!.split("-").at(-1))).toBe(Number(a.body.id!.split("-").at(-1)) + 1);
  });

  it("says honestly when nothing matched", async () => {
    const { body } = await callJson<ChatCompletionResponse>(local.baseUrl, NAMESPACE_CHAT, {
      body: question("submarines"),
    });
    expect(body.chunks).toEqual([]);
    expect(body.choices[0]!.message.content).toMatch(/could not find anything .* "submarines"/);
  });

  it("includes per-instance errors", async () => {
    const { status, body } = await callJson<ChatCompletionResponse>(local.baseUrl, NAMESPACE_CHAT, {
      body: question("bananas", ["ghost", "alpha"]),
    });
    expect(status).toBe(200);
    expect(body.errors).toEqual([
      { instance_id: "ghost", message: 'instance "ghost" not found in namespace "default"' },
    ]);
    expect(body.chunks.map((c) => c.item?.key)).toEqual(["notes.txt"]);
  });

  it("serves the instance endpoint without instance_ids", async () => {
    const { status, body } = await callJson<ChatCompletionResponse>(
      local.baseUrl,
      "/namespaces/default/instances/beta/chat/completions",
      {
        body: { messages: [{ role: "user", content: "citrus" }] },
      },
    );
    expect(status).toBe(200);
    expect(body.chunks.map((c) => c.instance_id)).toEqual(["beta"]);
    expect(body.choices[0]!.message.content).toContain("[citrus.md]");
  });

  it.each([
    [{}, /messages is required/],
    [{ messages: [] }, /at least one message/],
    [{ messages: [{ role: "user", content: "x" }] }, /instance_ids is required/],
    [{ ...question("x"), stream: "yes" }, /stream/],
    [{ ...question("x"), messages: [{ role: "assistant", content: "no user" }] }, /user message/],
  ])("400s %j", async (body, message) => {
    const { status, body: envelope } = await callJson<Envelope<null>>(
      local.baseUrl,
      NAMESPACE_CHAT,
      { body },
    );
    expect(status).toBe(400);
    expect(envelope.errors[0]!.message).toMatch(message);
  });
});

describe("streamed chat completions", () => {
  it("streams chunks first, then deltas that add up to the non-streamed answer", async () => {
    const body = question("How do orchards grow apples and pears?");
    const plain = (await callJson<ChatCompletionResponse>(local.baseUrl, NAMESPACE_CHAT, { body }))
      .body;
    const response = await call(local.baseUrl, NAMESPACE_CHAT, { body: { ...body, stream: true } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseSse(await response.text());

    expect(events[0]!.event).toBe("chunks");
    expect(chunksEvent(events)).toEqual(plain.chunks);
    expect(events.some((e) => e.event === ":" && e.data === "keep-alive")).toBe(true);
    expect(streamedText(events)).toBe(plain.choices[0]!.message.content);

    const frames = events
      .filter((e) => e.event === undefined && e.data !== "[DONE]")
      .map((e) => JSON.parse(e.data));
    expect(frames.length).toBeGreaterThan(3);
    expect(new Set(frames.map((f) => f.id)).size).toBe(1);
    expect(
      frames.every((f) => f.object === "chat.completion.chunk" && f.model === "local/extractive"),
    ).toBe(true);
    expect(frames.at(-1).choices[0]).toEqual({ index: 0, delta: {}, finish_reason: "stop" });
    expect(frames.slice(0, -1).every((f) => f.choices[0].finish_reason === undefined)).toBe(true);
    expect(events.at(-1)).toEqual({ event: undefined, data: "[DONE]" });
  });

  it("sends per-instance errors as an `errors` event right before the chunks", async () => {
    const response = await call(local.baseUrl, NAMESPACE_CHAT, {
      body: question("apples", ["alpha", "ghost"], { stream: true }),
    });
    const events = parseSse(await response.text());
    expect(events[0]!.event).toBe("errors");
    expect(events[1]!.event).toBe("chunks");
    expect(JSON.parse(events[0]!.data)).toEqual([
      { instance_id: "ghost", message: 'instance "ghost" not found in namespace "default"' },
    ]);
  });

  it("rejects bad stream requests with a JSON error before any event", async () => {
    const response = await call(local.baseUrl, NAMESPACE_CHAT, {
      body: { stream: true, messages: [] },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toMatch(/json/);
  });
});

describe("splitIntoDeltas", () => {
  it.each([
    "",
    "one",
    "  leading and trailing  ",
    "a b c d e f g",
    "line\n\nbreaks\tand  gaps ",
    "x".repeat(50),
  ])("rebuilds %j exactly", (text) => {
    const deltas = splitIntoDeltas(text);
    expect(deltas.join("")).toBe(text);
    for (const delta of deltas) expect(delta.trim().split(/\s+/).length).toBeLessThanOrEqual(3);
  });
});

describe("with an OpenAI-compatible LLM and embeddings", () => {
  let fake: FakeOpenAi;
  let smart: LocalAiSearch;

  beforeAll(async () => {
    fake = await startFakeOpenAi();
    smart = await startLocalAiSearch({
      corpusDir: dir,
      llm: { baseUrl: fake.baseUrl, model: "fake-llm", apiKey: "llm-key" },
      embeddings: { baseUrl: fake.baseUrl, model: "fake-embed" },
    });
  });
  afterAll(async () => {
    await smart?.close();
    await fake?.close();
  });

  it("answers with the LLM, giving it the retrieved chunks as context", async () => {
    fake.bodies.length = 0;
    const { body } = await callJson<ChatCompletionResponse>(smart.baseUrl, NAMESPACE_CHAT, {
      body: question("Where do apples grow?", ["alpha"], {
        ai_search_options: { instance_ids: ["alpha"], retrieval: { retrieval_type: "keyword" } },
      }),
    });
    expect(body.model).toBe("fake-llm");
    expect(body.choices[0]!.message.content).toBe("The passages say apples grow in orchards.");
    const sent = fake.bodies.find((b) => b.path === "/v1/chat/completions")!.body;
    expect(sent.model).toBe("fake-llm");
    const messages = sent.messages as { role: string; content: string }[];
    expect(messages[0]!.role).toBe("system");
    expect(messages[0]!.content).toContain("apples.md");
    expect(messages[0]!.content).toContain("Apples grow on trees in orchards.");
    expect(messages.slice(1)).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Where do apples grow?" },
    ]);
  });

  it("relays the LLM stream", async () => {
    const response = await call(smart.baseUrl, NAMESPACE_CHAT, {
      body: question("apples", ["alpha"], { stream: true }),
    });
    const events = parseSse(await response.text());
    expect(events[0]!.event).toBe("chunks");
    expect(streamedText(events)).toBe("The passages say apples grow in orchards.");
    expect(events.at(-1)!.data).toBe("[DONE]");
  });

  it("turns LLM failures into 502 envelopes", async () => {
    fake.failWith = 503;
    try {
      for (const stream of [false, true]) {
        const { status, body } = await callJson<Envelope<null>>(smart.baseUrl, NAMESPACE_CHAT, {
          body: question("apples", ["alpha"], { stream }),
        });
        expect(status).toBe(502);
        expect(body.errors[0]!.message).toMatch(/LLM endpoint answered HTTP 503/);
      }
    } finally {
      fake.failWith = undefined;
    }
  });

  it("runs hybrid retrieval with real vector scores from the embeddings endpoint", async () => {
    const instance = await result<Instance>(smart.baseUrl, "/namespaces/default/instances/alpha");
    expect(instance).toMatchObject({
      index_method: { keyword: true, vector: true },
      embedding_model: "fake-embed",
      ai_search_model: "fake-llm",
    });
    const found = await result<SearchResult>(
      smart.baseUrl,
      "/namespaces/default/instances/alpha/search",
      {
        body: { query: "pears", ai_search_options: { retrieval: { retrieval_type: "hybrid" } } },
      },
    );
    const top = found.chunks[0]!;
    expect(top.item?.key).toBe("guides/pears.md");
    expect(top.scoring_details).toMatchObject({
      fusion_method: "rrf",
      keyword_rank: 1,
      vector_rank: 1,
    });
    expect(top.scoring_details!.vector_score).toBeCloseTo(1 / Math.sqrt(4), 5); // pears, apples, orchards, trees
    expect(top.score).toBe(1); // ranked first by both methods
    const vectorOnly = await result<SearchResult>(
      smart.baseUrl,
      "/namespaces/default/instances/alpha/search",
      {
        body: { query: "pears", ai_search_options: { retrieval: { retrieval_type: "vector" } } },
      },
    );
    expect(vectorOnly.chunks.every((c) => c.scoring_details!.keyword_rank === undefined)).toBe(
      true,
    );
    expect(vectorOnly.chunks[0]!.item?.key).toBe("guides/pears.md");
  });
});
