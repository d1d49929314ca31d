import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { print } from "graphql";
import { createSchema, createYoga } from "graphql-yoga";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AskStreamDocument,
  NamespacesDocument,
  SearchDocument,
} from "../../operations/generated/graphql.ts";
import { useTrustedDocuments } from "../../src/server/plugins/useTrustedDocuments.ts";
import type { GatewayHarness } from "../helpers/gateway.ts";
import { startReadyGateway } from "../helpers/ready.ts";
import { wsClient } from "../helpers/streams.ts";

const manifest: Record<string, string> = JSON.parse(
  readFileSync(
    new URL("../../operations/generated/persisted-documents.json", import.meta.url),
    "utf8",
  ),
);
/** Codegen stamps each typed document with its manifest key. */
const idOf = (document: object) => (document as { __meta__: { hash: string } }).__meta__.hash;
const SEARCH_ID = idOf(SearchDocument);
const searchVariables = { input: { instanceIds: ["gateway-docs"], query: "streaming" } };
const UNKNOWN_ID = `sha256:${"0".repeat(64)}`;

async function send(harness: GatewayHarness, body: Record<string, unknown>) {
  const response = await fetch(harness.gateway.graphqlUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      data?: Record<string, unknown> | null;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    },
  };
}

const upstreamCalls = (harness: GatewayHarness) => harness.local.requests.length;

describe("TRUSTED_DOCUMENTS=enforce", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startReadyGateway({ TRUSTED_DOCUMENTS: "enforce" });
  });
  afterAll(() => harness?.close());

  it("runs a manifest document sent by documentId", async () => {
    const { status, body } = await send(harness, {
      documentId: SEARCH_ID,
      variables: searchVariables,
    });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data).toHaveProperty("search.chunks");
  });

  it("runs one sent by Apollo's persistedQuery extension, or over GET", async () => {
    const apq = await send(harness, {
      variables: searchVariables,
      extensions: { persistedQuery: { version: 1, sha256Hash: SEARCH_ID.slice("sha256:".length) } },
    });
    expect(apq.body.errors).toBeUndefined();
    const params = new URLSearchParams({
      documentId: idOf(NamespacesDocument),
      variables: JSON.stringify({ first: 1 }),
    });
    const get = await fetch(`${harness.gateway.graphqlUrl}?${params}`, {
      headers: { accept: "application/json" },
    });
    expect(get.status).toBe(200);
    expect(await get.json()).toHaveProperty("data.namespaces.totalCount");
  });

  it("runs the manifest text even when the client sends other text with a known id", async () => {
    const { body } = await send(harness, {
      documentId: SEARCH_ID,
      query: "{ __typename }",
      variables: searchVariables,
    });
    expect(body.data).toHaveProperty("search");
  });

  it("accepts the exact text of a manifest document", async () => {
    const { body } = await send(harness, {
      query: manifest[SEARCH_ID],
      variables: searchVariables,
    });
    expect(body.errors).toBeUndefined();
  });

  it("refuses an unknown id with PERSISTED_QUERY_NOT_FOUND and no upstream call", async () => {
    const before = upstreamCalls(harness);
    for (const documentId of [UNKNOWN_ID, "not-a-hash", 42]) {
      const { status, body } = await send(harness, { documentId, variables: searchVariables });
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions).toEqual({ code: "PERSISTED_QUERY_NOT_FOUND" });
    }
    expect(upstreamCalls(harness)).toBe(before);
  });

  it("refuses a raw query with PERSISTED_QUERY_ONLY and no upstream call", async () => {
    const before = upstreamCalls(harness);
    for (const query of [
      print(SearchDocument),
      "{ namespaces { totalCount } }",
      "{ __typename }",
    ]) {
      const { status, body } = await send(harness, { query, variables: searchVariables });
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions).toEqual({ code: "PERSISTED_QUERY_ONLY" });
    }
    expect(upstreamCalls(harness)).toBe(before);
  });

  it("applies over graphql-ws as well", async () => {
    const variables = {
      input: { instanceIds: ["gateway-docs"], messages: [{ role: "USER", content: "hi" }] },
    };
    // A client per operation: a lazy client reconnecting between them races its own close.
    const first = async (payload: { query: string; extensions?: Record<string, unknown> }) => {
      const client = wsClient(harness.gateway.graphqlUrl);
      try {
        return await new Promise<unknown>((resolve) => {
          client.subscribe(
            { ...payload, variables },
            { next: resolve, error: resolve, complete: () => resolve("complete") },
          );
        });
      } finally {
        await client.dispose();
      }
    };
    const persisted = (hash: string) => ({
      query: "",
      extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
    });
    expect(await first(persisted(idOf(AskStreamDocument).slice("sha256:".length)))).toMatchObject({
      data: { chatCompletionStream: { __typename: "ChatCompletionChunksEvent" } },
    });
    expect(await first({ query: print(AskStreamDocument) })).toEqual([
      expect.objectContaining({ extensions: { code: "PERSISTED_QUERY_ONLY" } }),
    ]);
    expect(await first(persisted("f".repeat(64)))).toEqual([
      expect.objectContaining({ extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } }),
    ]);
  });
});

describe("TRUSTED_DOCUMENTS=log", () => {
  let harness: GatewayHarness;
  beforeAll(async () => {
    harness = await startReadyGateway({ TRUSTED_DOCUMENTS: "log" });
  });
  afterAll(() => harness?.close());

  it("runs an unknown document", async () => {
    const { body } = await send(harness, {
      query: "query Unlisted { namespaces(first: 1) { totalCount } }",
      operationName: "Unlisted",
    });
    expect(body.errors).toBeUndefined();
    expect(body.data).toHaveProperty("namespaces.totalCount");
  });

  it("runs manifest documents by id", async () => {
    const { body } = await send(harness, { documentId: SEARCH_ID, variables: searchVariables });
    expect(body.errors).toBeUndefined();
  });

  it("still refuses an unknown id that comes without text", async () => {
    const { status, body } = await send(harness, { documentId: UNKNOWN_ID });
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_NOT_FOUND");
  });
});

describe("useTrustedDocuments", () => {
  const schema = createSchema({ typeDefs: "type Query { hello: String }", resolvers: {} });
  const known = "query Hello { hello }";
  const documents = { [`sha256:${createHash("sha256").update(known).digest("hex")}`]: known };
  const ask = (yoga: ReturnType<typeof createYoga>, body: Record<string, unknown>) =>
    yoga.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("reports each unknown document once in log mode, and never a trusted one", async () => {
    const warn = vi.fn();
    const yoga = createYoga({
      schema,
      logging: false,
      plugins: [useTrustedDocuments({ mode: "log", documents, logger: { warn } })],
    });
    const unknown = "query Other { hello __typename }";
    for (let i = 0; i < 3; i++) {
      expect((await ask(yoga, { query: unknown, operationName: "Other" })).status).toBe(200);
    }
    expect((await ask(yoga, { query: known })).status).toBe(200);
    expect((await ask(yoga, { documentId: Object.keys(documents)[0] })).status).toBe(200);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toEqual({
      documentId: `sha256:${createHash("sha256").update(unknown).digest("hex")}`,
      operationName: "Other",
      document: unknown,
    });
  });

  it("stops reporting after maxLoggedDocuments distinct documents", async () => {
    const warn = vi.fn();
    const yoga = createYoga({
      schema,
      logging: false,
      plugins: [
        useTrustedDocuments({ mode: "log", documents, logger: { warn }, maxLoggedDocuments: 2 }),
      ],
    });
    for (const field of ["a: hello", "b: hello", "c: hello"])
      await ask(yoga, { query: `{ ${field} }` });
    expect(warn).toHaveBeenCalledTimes(2);
  });

  it("refuses a manifest whose key is not the SHA-256 of its text", () => {
    expect(() =>
      useTrustedDocuments({ mode: "enforce", documents: { [`sha256:${"a".repeat(64)}`]: known } }),
    ).toThrow(/does not match/);
  });

  it("accepts the codegen manifest as it is", () => {
    expect(() => useTrustedDocuments({ mode: "enforce", documents: manifest })).not.toThrow();
  });
});
