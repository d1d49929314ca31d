import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import { badUserInput } from "../graphql-errors.ts";
import { primeInstances } from "../loaders.ts";
import { SLUG_PATTERN } from "../upstream/names.ts";
import { parseNodeId } from "./global-ids.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { connectionWithTotalCount, resolvePagedConnection } from "./pagination.ts";
import { InstanceRef, NamespaceRef } from "./refs.ts";

/** Backs `Namespace.instances`: one upstream list call per page window. */
async function listInstancesConnection(
  namespace: string,
  args: Parameters<typeof resolvePagedConnection>[0] & { search?: string | null },
  context: Context,
) {
  const connection = await resolvePagedConnection(args, async (page, perPage) => {
    const search = args.search ?? undefined;
    const result = await context.upstream.listInstances(namespace, { page, perPage, search });
    return { ...result, items: result.items.map((item) => ({ ...item, namespace })) };
  });
  primeInstances(
    context.loaders,
    connection.edges.map((edge) => edge.node),
  );
  return connection;
}

builder.node(NamespaceRef, {
  description:
    "A group of AI Search instances. Questions are asked of a namespace, which searches the chosen instances in parallel.",
  id: { resolve: (namespace) => namespace.name },
  loadOne: (name, context) => context.loaders.namespace.load(name),
  fields: (t) => ({
    name: t.exposeString("name", { description: "The namespace's unique name (a slug)." }),
    description: t.exposeString("description", {
      nullable: true,
      description: "What the namespace holds, as written by its owner.",
    }),
    createdAt: t.expose("created_at", {
      type: "DateTime",
      description: "When the namespace was created.",
    }),
    publicEndpointId: t.exposeString("public_endpoint_id", {
      nullable: true,
      description: "The id of the namespace's public endpoint, when it has one.",
    }),
    instances: t.connection(
      {
        type: InstanceRef,
        description: "The instances in this namespace, oldest first.",
        args: {
          search: t.arg.string({ description: "Keep instances whose id or settings match." }),
        },
        resolve: (namespace, args, context) =>
          listInstancesConnection(namespace.name, args, context),
      },
      connectionWithTotalCount("instances"),
    ),
    instance: t.field({
      type: InstanceRef,
      nullable: true,
      description: "One instance of this namespace by its Cloudflare id; null when there is none.",
      args: { id: t.arg.string({ required: true, description: "The instance id." }) },
      resolve: (namespace, args, context) =>
        context.loaders.instance.load({
          namespace: namespace.name,
          id: validateInstanceId(args.id),
        }),
    }),
  }),
});

builder.asEntity(NamespaceRef, {
  key: [
    builder.selection<{ name: string }>("name"),
    // The global id too, as every node type of this subgraph: another Relay subgraph's `node`
    // can then answer one of these ids with a reference the router completes here.
    builder.selection<{ id: string }>("id"),
  ],
  // A name that is no slug is no key: the caller's mistake, not a namespace that is missing.
  resolveReference: (reference: { name?: unknown; id?: unknown }, context, info) => {
    if (reference.name === undefined && typeof reference.id === "string") {
      const node = parseNodeId(
        reference.id,
        "representations",
        info.schema,
        "`representations`: a Namespace's `id`",
      );
      return node?.typename === "Namespace" ? context.loaders.namespace.load(node.id) : null;
    }
    if (typeof reference.name !== "string" || !SLUG_PATTERN.test(reference.name)) {
      throw badUserInput(
        "`representations`: a Namespace representation needs `name`, a slug, or `id`",
        "representations",
      );
    }
    return context.loaders.namespace.load(reference.name);
  },
});

builder.queryFields((t) => ({
  namespaces: t.connection(
    {
      type: NamespaceRef,
      description: "The account's namespaces, as the upstream orders them.",
      args: {
        search: t.arg.string({ description: "Keep namespaces whose name or description match." }),
      },
      resolve: async (_root, args, context) => {
        const connection = await resolvePagedConnection(args, (page, perPage) =>
          context.upstream.listNamespaces({ page, perPage, search: args.search ?? undefined }),
        );
        for (const { node } of connection.edges) context.loaders.namespace.prime(node.name, node);
        return connection;
      },
    },
    connectionWithTotalCount("namespaces"),
  ),
  namespace: t.field({
    type: NamespaceRef,
    nullable: true,
    description: "One namespace by name; null when there is none.",
    args: { name: t.arg.string({ required: true, description: "The namespace name." }) },
    resolve: (_root, args, context) =>
      context.loaders.namespace.load(validateNamespace(args.name, "name")),
  }),
}));
