import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { type ExecutionArgs, GraphQLError } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import type { YogaServerInstance } from "graphql-yoga";
import { WebSocketServer } from "ws";

export interface GraphqlWsOptions {
  /**
   * Path shared with HTTP GraphQL, so one URL serves queries, SSE and WebSocket subscriptions.
   * @default "/graphql"
   */
  path?: string;
  /**
   * Largest WebSocket frame accepted, in bytes.
   * @default 1_048_576
   */
  maxPayload?: number;
  /**
   * How long a client may wait before `connection_init`, in milliseconds.
   * @default 3000
   */
  connectionInitWaitTimeout?: number;
}

type EnvelopedRoot = Pick<
  ReturnType<YogaServerInstance<object, object>["getEnveloped"]>,
  "execute" | "subscribe"
>;

/**
 * Serves the graphql-ws protocol on the HTTP server, running every operation through Yoga's
 * envelop, so plugins (masking, limits, context) behave exactly as over HTTP.
 */
export function serveGraphqlWs(
  server: Server,
  // biome-ignore lint/suspicious/noExplicitAny: Yoga's server and user context types vary per app.
  yoga: YogaServerInstance<any, any>,
  options: GraphqlWsOptions = {},
): { close(): Promise<void>; sockets: WebSocketServer } {
  const sockets = new WebSocketServer({
    server,
    path: options.path ?? "/graphql",
    maxPayload: options.maxPayload ?? 1_048_576,
  });

  const disposable = useServer(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3000,
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args as ExecutionArgs),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args as ExecutionArgs),
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          requestId: randomUUID(),
        });
        let document: ReturnType<typeof parse>;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [
            new GraphQLError((error as Error).message, {
              extensions: { code: "GRAPHQL_PARSE_FAILED" },
            }),
          ];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) {
          return errors.map(
            (e: GraphQLError) =>
              new GraphQLError(e.message, {
                nodes: e.nodes,
                extensions: { ...e.extensions, code: "GRAPHQL_VALIDATION_FAILED" },
              }),
          );
        }
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies EnvelopedRoot,
        };
      },
    },
    sockets,
  );

  return {
    sockets,
    async close() {
      for (const socket of sockets.clients) socket.close(1001, "Going away");
      await disposable.dispose();
    },
  };
}
