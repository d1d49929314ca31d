/**
 * Acceptance, through the gateway on the local AI Search over real sockets: create an instance,
 * upload a document with a unique word by a real multipart request, watch the progress
 * subscription reach completed, find the word with `search` and `chatCompletion`, delete the
 * item, and see the word gone; then restart the gateway and the local AI Search on the same data
 * directory and find what was written through the graph still there: the namespace, the
 * instance with its settings, and the item that was kept, still searchable.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type GatewayHarness, startGateway } from "../helpers/gateway.ts";
import { wsClient } from "../helpers/streams.ts";
import { CREATE_INSTANCE, CREATE_NAMESPACE, removeDir, tempDir, uploadItem } from "./helpers.ts";

const NS = "lifecycle-space";
const ID = "lifecycle-docs";
const WORD = "quizzaciously";
const KEPT_WORD = "snollygoster";

const SEARCH = `query($input: SearchInput!) { search(input: $input) { chunks { text item { key } } } }`;
const ASK = `mutation($input: ChatCompletionInput!) { chatCompletion(input: $input) { content chunks { item { key } } } }`;
const PROGRESS = `subscription($namespace: String, $instanceId: String!) {
  instanceIndexingProgress(namespace: $namespace, instanceId: $instanceId) {
    __typename
    ... on InstanceIndexingProgress { settled items { queued running completed total } jobs { status } }
    ... on IndexingProgressFailedEvent { code }
  }
}`;

let harness: GatewayHarness;
let dataDir: string;

beforeAll(async () => {
  dataDir = await tempDir();
  harness = await startGateway(
    { dataDir, indexingStepMs: 20 },
    { PROGRESS_POLL_INTERVAL_MS: "50", PROGRESS_POLL_MAX_INTERVAL_MS: "200" },
  );
});
afterAll(async () => {
  await harness?.close();
  await removeDir(dataDir);
});

type ProgressEvent = {
  __typename: string;
  settled?: boolean;
  items?: { queued: number; running: number; completed: number; total: number };
};

describe("managing content through the graph", () => {
  it("creates, uploads, watches, finds, deletes, and keeps what was written across a restart", async () => {
    const { graphql, gateway } = harness;
    const ns = await graphql(CREATE_NAMESPACE, { input: { name: NS, description: "e2e" } });
    expect(ns.body).toEqual({
      data: { createNamespace: { namespace: { name: NS, description: "e2e" }, userErrors: [] } },
    });
    const created = await graphql(CREATE_INSTANCE, {
      input: { namespace: NS, instanceId: ID, settings: { chunkSize: 256 } },
    });
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data).toMatchObject({
      createInstance: { instance: { instanceId: ID, namespace: { name: NS } }, userErrors: [] },
    });

    // Watch before uploading: the empty instance first, then the upload moving through.
    const client = wsClient(gateway.graphqlUrl);
    const events: ProgressEvent[] = [];
    const watching = (async () => {
      for await (const result of client.iterate<{ instanceIndexingProgress: ProgressEvent }>({
        query: PROGRESS,
        variables: { namespace: NS, instanceId: ID },
      })) {
        const event = result.data?.instanceIndexingProgress;
        if (!event) throw new Error(JSON.stringify(result));
        events.push(event);
        if (event.settled && (event.items?.completed ?? 0) >= 2) return event;
      }
      return undefined;
    })();
    await vi.waitFor(() => expect(events.length).toBeGreaterThan(0), { timeout: 5_000 });
    expect(events[0]).toMatchObject({
      __typename: "InstanceIndexingProgress",
      items: { total: 0 },
    });

    const uploaded = await uploadItem(
      gateway.graphqlUrl,
      { namespace: NS, instanceId: ID },
      {
        filename: "notes/word.md",
        content: `# A rare word\n\nThe archivist behaved ${WORD} when the catalogue arrived.\n`,
      },
    );
    expect(uploaded.status).toBe(200);
    expect(uploaded.body.errors).toBeUndefined();
    expect(uploaded.body.data?.uploadItem).toMatchObject({
      item: { key: "notes/word.md", fileSize: expect.any(Number) },
      userErrors: [],
    });

    const kept = await uploadItem(
      gateway.graphqlUrl,
      { namespace: NS, instanceId: ID },
      { filename: "notes/kept.md", content: `# Kept\n\nThe ${KEPT_WORD} stays after a restart.\n` },
    );
    expect(kept.body.data?.uploadItem).toMatchObject({
      item: { key: "notes/kept.md" },
      userErrors: [],
    });

    const last = await watching;
    client.dispose();
    expect(last).toMatchObject({ settled: true, items: { completed: 2, queued: 0, running: 0 } });
    const found = await graphql(SEARCH, {
      input: { namespace: NS, instanceIds: [ID], query: WORD },
    });
    expect(found.body.data?.search).toMatchObject({
      chunks: [{ text: expect.stringContaining(WORD), item: { key: "notes/word.md" } }],
    });
    const asked = await graphql(ASK, {
      input: {
        namespace: NS,
        instanceIds: [ID],
        messages: [{ role: "USER", content: `Who behaved ${WORD}?` }],
      },
    });
    expect(asked.body.errors).toBeUndefined();
    expect(asked.body.data?.chatCompletion).toMatchObject({
      content: expect.stringContaining(WORD),
      chunks: [{ item: { key: "notes/word.md" } }],
    });

    const deleted = await graphql(
      `mutation($input: DeleteItemInput!) { deleteItem(input: $input) { key deletedItemId userErrors { code } } }`,
      { input: { namespace: NS, instanceId: ID, key: "notes/word.md" } },
    );
    expect(deleted.body.data).toMatchObject({
      deleteItem: { key: "notes/word.md", deletedItemId: expect.any(String), userErrors: [] },
    });
    const gone = await graphql(SEARCH, {
      input: { namespace: NS, instanceIds: [ID], query: WORD },
    });
    expect(gone.body.data).toEqual({ search: { chunks: [] } });

    // The gateway and the local AI Search again, on the same data directory: what was written
    // through the graph is still there, and the kept item still searchable.
    await harness.close();
    harness = await startGateway({ dataDir, indexingStepMs: 20 });
    const again = await harness.graphql(
      `query($ns: String!, $id: String!) {
        namespace(name: $ns) { name description }
        instance(namespace: $ns, id: $id) {
          instanceId chunkSize
          items { totalCount nodes { key status } }
          word: item(key: "notes/word.md") { key }
        }
      }`,
      { ns: NS, id: ID },
    );
    expect(again.body).toEqual({
      data: {
        namespace: { name: NS, description: "e2e" },
        instance: {
          instanceId: ID,
          chunkSize: 256,
          items: { totalCount: 1, nodes: [{ key: "notes/kept.md", status: "COMPLETED" }] },
          word: null,
        },
      },
    });
    const stillFound = await harness.graphql(SEARCH, {
      input: { namespace: NS, instanceIds: [ID], query: KEPT_WORD },
    });
    expect(stillFound.body.data?.search).toMatchObject({
      chunks: [{ text: expect.stringContaining(KEPT_WORD), item: { key: "notes/kept.md" } }],
    });
    const stillGone = await harness.graphql(SEARCH, {
      input: { namespace: NS, instanceIds: [ID], query: WORD },
    });
    expect(stillGone.body.data).toEqual({ search: { chunks: [] } });
  });
});
