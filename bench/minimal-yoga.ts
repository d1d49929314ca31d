/**
 * The floor of bench/gateway.ts: the least a graphql-yoga server can do to answer the bench's
 * mutation. One hand-written SDL schema with the fields the bench selects, one resolver that
 * makes the same upstream call as the gateway (undici, keep-alive pool, bearer token) and maps
 * the JSON; no auth, limits, logs, metrics or retries. Run in its own process by
 * bench/targets.ts, under NODE_ENV=production like the gateway.
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createSchema, createYoga } from "graphql-yoga";
import { Pool } from "undici";
import { CHAT_PATH } from "./workload.ts";

const upstream = new URL(process.env.BENCH_UPSTREAM_URL ?? "");
const headers = {
  authorization: `Bearer ${process.env.BENCH_TOKEN}`,
  "content-type": "application/json",
  accept: "application/json",
};
const pool = new Pool(upstream.origin, { connections: 256 });

interface Input {
  instanceIds: string[];
  messages: { role: string; content: string }[];
}
interface WireChunk {
  id: string;
  instance_id: string;
  score: number;
  text: string;
  item?: { key: string };
}
interface WireAnswer {
  id?: string;
  model?: string;
  choices: { message: { content: string } }[];
  chunks?: WireChunk[];
  errors?: { instance_id: string; message: string }[];
}

const typeDefs = /* GraphQL */ `
  enum ChatRole { SYSTEM DEVELOPER USER ASSISTANT }
  input ChatMessageInput { role: ChatRole!, content: String! }
  input ChatCompletionInput { namespace: String = "default", instanceIds: [String!]!, messages: [ChatMessageInput!]! }
  type ChunkItem { key: String! }
  type Chunk { chunkId: String!, instanceId: String!, score: Float!, text: String!, item: ChunkItem }
  type InstanceError { instanceId: String!, message: String! }
  type ChatCompletion { id: ID, model: String, content: String!, chunks: [Chunk!]!, errors: [InstanceError!]! }
  type Query { ok: Boolean! }
  type Mutation { chatCompletion(input: ChatCompletionInput!): ChatCompletion! }
`;

async function chatCompletion(_: unknown, { input }: { input: Input }) {
  const res = await pool.request({
    path: `${upstream.pathname}${CHAT_PATH}`,
    method: "POST",
    headers,
    body: JSON.stringify({
      messages: input.messages.map((m) => ({ role: m.role.toLowerCase(), content: m.content })),
      ai_search_options: { instance_ids: input.instanceIds },
    }),
  });
  const answer = (await res.body.json()) as WireAnswer;
  if (res.statusCode !== 200) throw new Error(`upstream answered ${res.statusCode}`);
  return {
    id: answer.id,
    model: answer.model,
    content: answer.choices[0]?.message.content ?? "",
    chunks: (answer.chunks ?? []).map((c) => ({
      chunkId: c.id,
      instanceId: c.instance_id,
      score: c.score,
      text: c.text,
      item: c.item ?? null,
    })),
    errors: (answer.errors ?? []).map((e) => ({ instanceId: e.instance_id, message: e.message })),
  };
}

const yoga = createYoga({
  schema: createSchema({
    typeDefs,
    resolvers: { Query: { ok: () => true }, Mutation: { chatCompletion } },
  }),
  graphiql: false,
  logging: false,
});
const server = createServer(yoga);
server.listen(0, "127.0.0.1", () => {
  process.send?.({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` });
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => void pool.close().then(() => process.exit(0)));
});
