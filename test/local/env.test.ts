import { describe, expect, it } from "vitest";
import { EnvError, parseLocalEnv } from "../../src/local/env.ts";
import { defaultDataDir } from "../../src/local/store.ts";

describe("parseLocalEnv", () => {
  it("defaults to 127.0.0.1:8787 and the user's cache directory", () => {
    expect(parseLocalEnv({ PATH: "/bin", LOCAL_PORT: "", XDG_CACHE_HOME: "/c" })).toEqual({
      host: "127.0.0.1",
      port: 8787,
      dataDir: "/c/aisearch-graphql-gateway/local-ai-search",
      streamDelayMs: 15,
    });
    expect(parseLocalEnv({ HOME: "/home/x" }).dataDir).toBe(defaultDataDir({}));
  });

  it("reads every supported variable", () => {
    const options = parseLocalEnv({
      LOCAL_HOST: "0.0.0.0",
      LOCAL_PORT: "9000",
      LOCAL_CORPUS_DIR: "/data/corpus",
      LOCAL_DATA_DIR: "/data/written",
      LOCAL_INDEXING_STEP_MS: "5",
      LOCAL_SYNC_COOLDOWN_MS: "1000",
      LOCAL_API_TOKEN: "tok",
      LOCAL_STREAM_DELAY_MS: "0",
      LOCAL_LLM_BASE_URL: "http://localhost:11434/v1",
      LOCAL_LLM_MODEL: "llama3.2",
      LOCAL_EMBEDDINGS_BASE_URL: "http://localhost:11434/v1",
      LOCAL_EMBEDDINGS_MODEL: "nomic-embed-text",
      LOCAL_EMBEDDINGS_API_KEY: "ek",
      LOCAL_FAULT_LATENCY_MS: "250",
      LOCAL_FAULT_STATUS: "429",
      LOCAL_FAULT_RETRY_AFTER: "3",
      LOCAL_FAULT_RETRY_AFTER_MS: "3000",
      LOCAL_FAULT_STALL_BEFORE_HEADERS_MS: "Infinity",
      LOCAL_FAULT_STALL_MID_STREAM_AFTER: "4",
      LOCAL_FAULT_MALFORMED_SSE: "true",
      LOCAL_FAULT_END_WITHOUT_DONE: "0",
      LOCAL_FAULT_REDIRECT_TO: "http://elsewhere/",
      LOCAL_FAULT_MATCH: "/chat/",
      LOCAL_FAULT_TIMES: "2",
    });
    expect(options).toEqual({
      host: "0.0.0.0",
      port: 9000,
      corpusDir: "/data/corpus",
      dataDir: "/data/written",
      indexingStepMs: 5,
      syncCooldownMs: 1000,
      apiToken: "tok",
      streamDelayMs: 0,
      llm: { baseUrl: "http://localhost:11434/v1", model: "llama3.2" },
      embeddings: { baseUrl: "http://localhost:11434/v1", model: "nomic-embed-text", apiKey: "ek" },
      faults: {
        latencyMs: 250,
        errorStatus: 429,
        retryAfter: "3",
        retryAfterMs: 3000,
        stallBeforeHeadersMs: Number.POSITIVE_INFINITY,
        stallMidStreamAfterDeltas: 4,
        malformedSse: true,
        endWithoutDone: false,
        redirectTo: "http://elsewhere/",
        match: "/chat/",
        times: 2,
      },
    });
  });

  it.each([
    [{ LOCAL_PORT: "eighty" }, /^LOCAL_PORT="eighty" must be a whole number$/],
    [{ LOCAL_PORT: "70000" }, /LOCAL_PORT="70000" must be at most 65535/],
    [{ LOCAL_FAULT_STATUS: "200" }, /LOCAL_FAULT_STATUS="200" must be at least 400/],
    [{ LOCAL_FAULT_MALFORMED_SSE: "maybe" }, /must be true or false/],
    [{ LOCAL_FAULT_STALL_BEFORE_HEADERS_MS: "forever" }, /LOCAL_FAULT_STALL_BEFORE_HEADERS_MS/],
    [{ LOCAL_LLM_BASE_URL: "localhost:11434" }, /LOCAL_LLM_BASE_URL.*http\(s\) URL/],
    [
      { LOCAL_LLM_BASE_URL: "http://x" },
      /LOCAL_LLM_BASE_URL and LOCAL_LLM_MODEL must be set together/,
    ],
    [{ LOCAL_EMBEDDINGS_MODEL: "m" }, /LOCAL_EMBEDDINGS_BASE_URL and LOCAL_EMBEDDINGS_MODEL/],
    [{ LOCAL_LLM_API_KEY: "k" }, /LOCAL_LLM_API_KEY is set but LOCAL_LLM_BASE_URL is not/],
    [{ LOCAL_API_TOKEN: "has space" }, /LOCAL_API_TOKEN/],
    [{ LOCAL_INDEXING_STEP_MS: "-1" }, /LOCAL_INDEXING_STEP_MS="-1" must be a whole number/],
    [{ LOCAL_FAULT_MATCH: "/chat/" }, /need a fault to scope/],
  ])("rejects %j with one readable line", (env, message) => {
    expect(() => parseLocalEnv(env)).toThrow(EnvError);
    expect(() => parseLocalEnv(env)).toThrow(message);
  });
});
