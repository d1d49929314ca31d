/**
 * Two gateway processes sharing one real `redis-server` and one upstream (the local AI Search,
 * in this process, whose request log counts the completions both replicas make): a stream
 * started on one replica and resumed on the other, over graphql-ws and SSE; cancellation from
 * the other replica; replays after the end and the TTL; other clients' ids; one rate limit for
 * both; every key under the prefix; and Redis killed mid-run.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AskDocument,
  AskStreamDocument,
  CancelAskStreamDocument,
  type ChatCompletionInput,
  ResumeAskStreamDocument,
} from "../../operations/generated/graphql.ts";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { graphqlPoster, TEST_TOKEN } from "../helpers/gateway.ts";
import { closeAfterEach, openAcknowledged } from "../helpers/raw-ws.ts";
import { sseSubscribe } from "../helpers/streams.ts";
import {
  ask,
  type Event,
  eventOf,
  expectWhole,
  follow,
  type RedisServer,
  type Replica,
  redisAvailable,
  resume,
  startRedis,
  startReplica,
} from "./helpers.ts";

const KEY = "replica-key-a-0123456789";
const OTHER = "replica-key-b-0123456789";
const LIMITED = "replica-key-limited-0123";
const PREFIX = "test-gateway:";
const RATE_LIMIT = 30;
const CHAT = "/chat/completions";
const input: ChatCompletionInput = {
  instanceIds: ["gateway-docs"],
  messages: [{ role: "USER", content: "How does streaming of answers work?" }],
};

describe.skipIf(!redisAvailable())("two replicas sharing Redis", () => {
  let redis: RedisServer;
  let local: LocalAiSearch;
  let a: Replica;
  let b: Replica;
  const track = closeAfterEach();

  beforeAll(async () => {
    [redis, local] = await Promise.all([
      startRedis(),
      startLocalAiSearch({ apiToken: TEST_TOKEN, streamDelayMs: 10 }),
    ]);
    const env = {
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      CLOUDFLARE_API_BASE_URL: local.baseUrl,
      CLOUDFLARE_ACCOUNT_ID: "test-account",
      CLOUDFLARE_API_TOKEN: TEST_TOKEN,
      AUTH_API_KEYS: `${KEY},${OTHER},${LIMITED}`,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: PREFIX,
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      STREAM_RESUME_GRACE_MS: "3000",
      STREAM_RESUME_TTL_MS: "1500",
    };
    [a, b] = await Promise.all([startReplica(env), startReplica(env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([redis?.stop(), local?.close()]);
  });
  afterEach(() => {
    local.setFaults(undefined);
    local.resetRequests();
  });

  const connect = async (replica: Replica, key = KEY) =>
    track(await openAcknowledged(replica.graphqlUrl, { apiKey: key }));
  const completions = () => local.requests.filter((r) => r.path.endsWith(CHAT));
  const graphql = (replica: Replica) => graphqlPoster(fetch, replica.graphqlUrl);

  it("resumes on replica B a graphql-ws stream dropped on replica A: every event once, one completion", async () => {
    const first = await connect(a);
    const before = await follow(first, "s", ask(input)).events((e) => e.sequence === 3);
    first.socket.terminate();
    const second = await connect(b);
    const after = await follow(second, "r", resume(before[0]!.streamId, 3)).events();
    expectWhole([...before, ...after]);
    expect(completions()).toHaveLength(1);
    expect(completions()[0]!.aborted).toBe(false);
  });

  it("does the same over SSE", async () => {
    const headers = { "x-api-key": KEY };
    const before: Event[] = [];
    for await (const result of sseSubscribe(a.graphqlUrl, AskStreamDocument, { input }, headers)) {
      before.push(eventOf(result)!);
      if (before.length === 3) break;
    }
    const after: Event[] = [];
    const variables = { streamId: before[0]!.streamId, afterSequence: 2 };
    for await (const result of sseSubscribe(
      b.graphqlUrl,
      ResumeAskStreamDocument,
      variables,
      headers,
    )) {
      after.push(eventOf(result)!);
    }
    expectWhole([...before, ...after]);
    expect(completions()).toHaveLength(1);
  });

  it("replays a finished stream on the other replica within the TTL, and not after it; never another client's", async () => {
    const raw = await connect(a);
    const events = await follow(raw, "s", ask(input)).events();
    expectWhole(events);
    const streamId = events[0]!.streamId;
    const onB = await connect(b);
    expect(await follow(onB, "r", resume(streamId, 4)).events()).toEqual(events.slice(5));
    const foreign = await connect(b, OTHER);
    expect((await follow(foreign, "f", resume(streamId, 0)).message()).payload).toMatchObject({
      errors: [{ extensions: { code: "STREAM_NOT_FOUND" } }],
    });
    let attempt = 0;
    await vi.waitFor(
      async () => {
        const late = await follow(onB, `late-${attempt++}`, resume(streamId, 0)).message();
        expect(late.payload).toMatchObject({
          errors: [{ extensions: { code: "STREAM_NOT_FOUND" } }],
        });
      },
      { timeout: 10_000, interval: 200 },
    );
  });

  it("cancels from replica B a stream running on replica A", async () => {
    local.setFaults({ endlessStream: true, match: CHAT });
    const raw = await connect(a);
    const original = follow(raw, "s", ask(input));
    const head = await original.events((e) => e.sequence === 2);
    const aborted = local.waitForAbort(CHAT, 10_000);
    const cancel = await graphql(b)(
      CancelAskStreamDocument,
      { streamId: head[0]!.streamId },
      { "x-api-key": KEY },
    );
    expect(cancel.body).toEqual({ data: { cancelChatCompletionStream: true } });
    expect((await aborted).aborted).toBe(true);
    expect((await original.events()).at(-1)).toMatchObject({ code: "CANCELLED" });
    // And from another client: false, as for an unknown id.
    const foreign = await graphql(b)(
      CancelAskStreamDocument,
      { streamId: head[0]!.streamId },
      { "x-api-key": OTHER },
    );
    expect(foreign.body).toEqual({ data: { cancelChatCompletionStream: false } });
  });

  it("enforces one rate limit across both replicas", async () => {
    const headers = { "x-api-key": LIMITED };
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT; i++) {
      const replica = i % 2 === 0 ? a : b;
      statuses.push((await graphql(replica)("{ __typename }", {}, headers)).status);
    }
    expect(statuses).toEqual(statuses.map(() => 200));
    for (const replica of [a, b]) {
      const refused = await graphql(replica)("{ __typename }", {}, headers);
      expect(refused.status).toBe(429);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
    }
  });

  it("writes every key under REDIS_KEY_PREFIX, the rate limiter's included", async () => {
    const keys = await redis.client.keys("*");
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => !key.startsWith(PREFIX))).toEqual([]);
    expect(keys.some((key) => key.startsWith(`${PREFIX}rate-limit:`))).toBe(true);
  });

  it("keeps serving when Redis dies: streams, mutations, local resumes; says so in /readyz and metrics", async () => {
    // A stream held by A, to resume once Redis is gone.
    local.setFaults({ stallMidStreamAfterDeltas: 3, match: CHAT, times: 1 });
    const raw = await connect(a);
    const held = await follow(raw, "h", ask(input)).events((e) => e.sequence === 2);
    await redis.kill();

    await vi.waitFor(
      async () => {
        const ready = await fetch(`${a.url}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toEqual({ status: "ready", redis: "down" });
      },
      { timeout: 10_000, interval: 50 },
    );
    // Mutations and new streams go on, rate limited per process.
    const answer = await graphql(a)(AskDocument, { input }, { "x-api-key": KEY });
    expect(answer.body.data?.chatCompletion.content).toBeTruthy();
    const fresh = await connect(b);
    expectWhole(await follow(fresh, "n", ask(input)).events());
    // The replica holding a stream still resumes it from memory; another cannot reach it.
    const onB = await connect(b);
    const remote = await follow(onB, "r", resume(held[0]!.streamId, 2)).message();
    expect(remote.payload).toMatchObject({
      errors: [{ extensions: { code: "RESUME_UNAVAILABLE" } }],
    });
    const onA = await connect(a);
    const fromMemory = await follow(onA, "l", resume(held[0]!.streamId, 1)).events(
      (e) => e.sequence === 2,
    );
    expect(fromMemory).toEqual(held.slice(2));

    for (const replica of [a, b]) {
      const metrics = await (await fetch(`${replica.url}/metrics`)).text();
      expect(metrics).toMatch(/^gateway_redis_up 0$/m);
      expect(metrics).toMatch(/^gateway_redis_fallbacks_total\{piece="rate_limit"\} [1-9]/m);
    }
    const log = b.logs.find((line) => line.msg?.toString().startsWith("redis unavailable"));
    expect(log).toMatchObject({ level: "warn" });

    // Back again: both replicas reconnect by themselves.
    await redis.restart();
    await vi.waitFor(
      async () => {
        for (const replica of [a, b]) {
          expect(await (await fetch(`${replica.url}/readyz`)).json()).toEqual({
            status: "ready",
            redis: "up",
          });
        }
      },
      { timeout: 15_000, interval: 100 },
    );
  }, 60_000);
});
