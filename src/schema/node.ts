import { resolveNodes } from "@pothos/plugin-relay";
import { builder } from "../builder.ts";
import { badUserInput } from "../graphql-errors.ts";
import { parseNodeId } from "./global-ids.ts";
import { MAX_PAGE_SIZE } from "./pagination.ts";

/*
 * `Query.node` and `Query.nodes`, written here instead of by the Relay plugin so that ids are
 * checked as client input (src/schema/global-ids.ts): the plugin's own decoding failed on a
 * malformed id with an internal error. A well-formed id that names nothing is `null` with no
 * error, as Relay's `node` is specified.
 */

builder.queryFields((t) => ({
  node: t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description:
      "Fetches any object of this API by its global `id`; null when there is none. Through a supergraph router, ask for the type you expect (`... on Instance`), so the router sends the id to the subgraph that has it.",
    // Every Relay subgraph of a supergraph has its own `Query.node` (README, Federation).
    shareable: true,
    args: {
      id: t.arg.id({ required: true, description: "A global id, as returned in any `id` field." }),
    },
    resolve: async (_root, args, context, info) => {
      const id = parseNodeId(String(args.id), "id", info.schema);
      if (!id) return null;
      const [node] = await resolveNodes(builder, context, info, [id]);
      return node ?? null;
    },
  }),
  nodes: t.field({
    type: [builder.nodeInterfaceRef()],
    nullable: { list: false, items: true },
    description:
      "Fetches several objects by their global ids, in order; null for each id that names none.",
    shareable: true,
    args: {
      ids: t.arg.idList({ required: true, description: "Global ids, as returned in `id` fields." }),
    },
    resolve: (_root, args, context, info) => {
      if (args.ids.length > MAX_PAGE_SIZE) {
        throw badUserInput(`\`ids\` may hold at most ${MAX_PAGE_SIZE} ids`, "ids");
      }
      const ids = args.ids.map((id, i) => parseNodeId(String(id), `ids[${i}]`, info.schema));
      return resolveNodes(builder, context, info, ids);
    },
  }),
}));
