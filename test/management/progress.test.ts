import { afterEach, describe, expect, it, vi } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { wsClient } from "../helpers/streams.ts";
import { CREATE_INSTANCE, CREATE_NAMESPACE, requestsTo, uploadItem } from "./helpers.ts";

const NS = "progress-space";
const ID = "progress-docs";
const PROGRESS = `subscription {
  instanceIndexingProgress(namespace: "${NS}", instanceId: "${ID}") {
    __typename
    ... on InstanceIndexingProgress { settled items { completed total } }
    ... on IndexingProgressFailedEvent { code retryable }
  }
}`;

type Event = {
  __typename: string;
  settled?: boolean;
  items?: { completed: number };
  code?: string;
};

let harness: GatewayHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function gateway(env: Record<string, string>) {
  harness = await startGateway({ indexingStepMs: 30 }, env);
  await harness.graphql(CREATE_NAMESPACE, { input: { name: NS } });
  await harness.graphql(CREATE_INSTANCE, { input: { namespace: NS, instanceId: ID } });
  harness.local.resetRequests();
  return harness;
}

/** Subscribes `count` times on `client`, recording each subscriber's events. */
function subscribe(client: ReturnType<typeof wsClient>, count: number) {
  return Array.from({ length: count }, () => {
    const events: Event[] = [];
    const errors: unknown[] = [];
    let done = false;
    const stop = client.subscribe<{ instanceIndexingProgress: Event }>(
      { query: PROGRESS },
      {
        next: (result) => {
          if (result.data) events.push(result.data.instanceIndexingProgress);
          if (result.errors) errors.push(...result.errors);
        },
        error: (error) => errors.push(error),
        complete: () => {
          done = true;
        },
      },
    );
    return { events, errors, stop, done: () => done };
  });
}

const rounds = (h: GatewayHarness) => ({
  stats: requestsTo(h.local, `/instances/${ID}/stats`),
  jobs: requestsTo(h.local, `/instances/${ID}/jobs`),
});

describe("instanceIndexingProgress", () => {
  it("polls once for 50 subscribers however they join", async () => {
    // A long interval: no second round happens during the test, so every request is counted.
    const h = await gateway({
      PROGRESS_POLL_INTERVAL_MS: "600000",
      PROGRESS_POLL_MAX_INTERVAL_MS: "600000",
      MAX_SUBSCRIPTIONS_PER_CLIENT: "100",
      MAX_SUBSCRIPTIONS_PER_CONNECTION: "50",
    });
    const clients = [wsClient(h.gateway.graphqlUrl), wsClient(h.gateway.graphqlUrl)];
    const early = subscribe(clients[0]!, 25);
    await vi.waitFor(() => expect(early.every((s) => s.events.length === 1)).toBe(true), {
      timeout: 10_000,
    });
    const late = subscribe(clients[1]!, 25);
    await vi.waitFor(() => expect(late.every((s) => s.events.length === 1)).toBe(true), {
      timeout: 10_000,
    });
    expect(rounds(h)).toEqual({ stats: 1, jobs: 1 });
    for (const s of [...early, ...late]) {
      expect(s.events).toEqual([
        {
          __typename: "InstanceIndexingProgress",
          settled: true,
          items: { completed: 0, total: 0 },
        },
      ]);
      s.stop();
    }
    await Promise.all(clients.map((c) => c.dispose()));
  });

  it("keeps to one round per interval while 50 subscribers watch an upload index", async () => {
    const interval = 150;
    const h = await gateway({
      PROGRESS_POLL_INTERVAL_MS: String(interval),
      PROGRESS_POLL_MAX_INTERVAL_MS: String(interval),
      MAX_SUBSCRIPTIONS_PER_CLIENT: "100",
      MAX_SUBSCRIPTIONS_PER_CONNECTION: "100",
    });
    const client = wsClient(h.gateway.graphqlUrl);
    const subscribers = subscribe(client, 50);
    await vi.waitFor(() => expect(subscribers.every((s) => s.events.length > 0)).toBe(true), {
      timeout: 10_000,
    });
    await uploadItem(
      h.gateway.graphqlUrl,
      { namespace: NS, instanceId: ID },
      {
        filename: "watched.md",
        content: "# Watched\n\nfifty pairs of eyes",
      },
    );
    await vi.waitFor(
      () => expect(subscribers.every((s) => s.events.at(-1)?.items?.completed === 1)).toBe(true),
      { timeout: 10_000 },
    );
    const { stats, jobs } = rounds(h);
    // One round (a stats and a jobs call) per interval, whatever 50 subscribers do; the pacing
    // itself is checked on fake timers in progress-hub.test.ts, not against the wall clock.
    expect(stats).toBe(jobs);
    expect(stats).toBeGreaterThanOrEqual(2);
    for (const s of subscribers) s.stop();
    await client.dispose();
  });

  it("is held to the subscription caps, and ends with SHUTTING_DOWN when the gateway drains", async () => {
    const h = await gateway({
      PROGRESS_POLL_INTERVAL_MS: "100",
      MAX_SUBSCRIPTIONS_PER_CLIENT: "2",
    });
    const client = wsClient(h.gateway.graphqlUrl);
    const [a, b, c] = subscribe(client, 3);
    await vi.waitFor(() => expect(c!.errors).toHaveLength(1));
    expect(c!.errors[0]).toEqual([
      expect.objectContaining({
        extensions: expect.objectContaining({ code: "TOO_MANY_SUBSCRIPTIONS" }),
      }),
    ]);
    await vi.waitFor(() => expect(a!.events.length * b!.events.length).toBeGreaterThan(0));
    await h.app.stop();
    for (const s of [a!, b!]) {
      expect(s.events.at(-1)).toEqual({
        __typename: "IndexingProgressFailedEvent",
        code: "SHUTTING_DOWN",
        retryable: true,
      });
      expect(s.done() || s.errors.length > 0).toBe(true);
    }
    await client.dispose();
  });
});
