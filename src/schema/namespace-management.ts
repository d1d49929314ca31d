import { encodeGlobalID } from "@pothos/plugin-relay";
import { builder } from "../builder.ts";
import { badUserInput } from "../graphql-errors.ts";
import type { PublicEndpointParams } from "../upstream/management-types.ts";
import type { Namespace } from "../upstream/types.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { NamespaceRef } from "./refs.ts";
import { type UserErrorRecord, UserErrorRef, withUserErrors } from "./user-errors.ts";

/** The upstream's bound on a namespace description. */
const MAX_DESCRIPTION = 256;
/** Bounds on the public endpoint's lists: enough for any real setup, small enough to send. */
const MAX_LIST = 50;
const MAX_TEXT = 1024;

function validateDescription(description: string | null | undefined): string | null | undefined {
  if (typeof description === "string" && description.length > MAX_DESCRIPTION) {
    throw badUserInput(
      `\`description\` may have at most ${MAX_DESCRIPTION} characters`,
      "description",
    );
  }
  return description;
}

function validateTexts(values: readonly string[] | null | undefined, field: string) {
  if (!values) return undefined;
  if (values.length > MAX_LIST || values.some((value) => value.length > MAX_TEXT)) {
    throw badUserInput(
      `\`${field}\` may list at most ${MAX_LIST} values of ${MAX_TEXT} characters`,
      field,
    );
  }
  return [...values];
}

const RateLimitTechnique = builder.enumType("RateLimitTechnique", {
  description: "How a public endpoint counts requests.",
  values: {
    FIXED: { value: "fixed", description: "Fixed windows." },
    SLIDING: { value: "sliding", description: "A sliding window." },
  } as const,
});

const RateLimitInput = builder.inputType("PublicEndpointRateLimitInput", {
  description: "A public endpoint's rate limit.",
  fields: (t) => ({
    periodMs: t.int({ description: "Window length in milliseconds." }),
    requests: t.int({ description: "Requests allowed per window." }),
    technique: t.field({ type: RateLimitTechnique, description: "Fixed or sliding windows." }),
  }),
});

const PublicEndpointInput = builder.inputType("PublicEndpointInput", {
  description:
    "A namespace's public endpoint. It is replaced whole on every update: send all of it.",
  fields: (t) => ({
    enabled: t.boolean({ description: "Serve the public endpoint." }),
    instancesAllowed: t.stringList({
      description: "Instance ids of the namespace it may search (at most 10).",
    }),
    authorizedHosts: t.stringList({ description: "Hosts allowed to call it from a browser." }),
    customDomains: t.stringList({ description: "Custom domains it answers on." }),
    defaultDomainEnabled: t.boolean({ description: "Also answer on the default domain." }),
    chatCompletionsDisabled: t.boolean({ description: "Turn off its chat completions." }),
    searchDisabled: t.boolean({ description: "Turn off its search." }),
    mcpDisabled: t.boolean({ description: "Turn off its MCP server." }),
    mcpDescription: t.string({ description: "What its MCP server says it offers." }),
    rateLimit: t.field({ type: RateLimitInput, description: "Its rate limit." }),
  }),
});

type PublicEndpointArgs = NonNullable<(typeof PublicEndpointInput)["$inferInput"]>;

function toPublicEndpoint(
  input: PublicEndpointArgs | null | undefined,
): PublicEndpointParams | undefined {
  if (!input) return undefined;
  const params: PublicEndpointParams = {};
  if (input.enabled != null) params.enabled = input.enabled;
  if (input.instancesAllowed) {
    if (input.instancesAllowed.length > 10) {
      throw badUserInput("`instancesAllowed` may name at most 10 instances", "instancesAllowed");
    }
    params.instances_allowed = input.instancesAllowed.map((id) =>
      validateInstanceId(id, "instancesAllowed"),
    );
  }
  const hosts = validateTexts(input.authorizedHosts, "authorizedHosts");
  if (hosts) params.authorized_hosts = hosts;
  const domains = validateTexts(input.customDomains, "customDomains");
  if (domains) params.custom_domains = domains;
  if (input.defaultDomainEnabled != null)
    params.default_domain_enabled = input.defaultDomainEnabled;
  if (input.chatCompletionsDisabled != null) {
    params.chat_completions_endpoint = { disabled: input.chatCompletionsDisabled };
  }
  if (input.searchDisabled != null) params.search_endpoint = { disabled: input.searchDisabled };
  if (input.mcpDisabled != null || input.mcpDescription != null) {
    if ((input.mcpDescription?.length ?? 0) > MAX_TEXT) {
      throw badUserInput(
        `\`mcpDescription\` may have at most ${MAX_TEXT} characters`,
        "mcpDescription",
      );
    }
    params.mcp = {
      ...(input.mcpDisabled != null && { disabled: input.mcpDisabled }),
      ...(input.mcpDescription != null && { description: input.mcpDescription }),
    };
  }
  if (input.rateLimit) {
    const { periodMs, requests, technique } = input.rateLimit;
    params.rate_limit = {
      ...(periodMs != null && { period_ms: periodMs }),
      ...(requests != null && { requests }),
      ...(technique != null && { technique }),
    };
  }
  return params;
}

const CreateNamespaceInput = builder.inputType("CreateNamespaceInput", {
  description: "A new namespace.",
  fields: (t) => ({
    name: t.string({ required: true, description: "Its name: a slug, unique in the account." }),
    description: t.string({
      description: `What it holds (at most ${MAX_DESCRIPTION} characters).`,
    }),
    publicEndpoint: t.field({ type: PublicEndpointInput, description: "Its public endpoint." }),
  }),
});

const UpdateNamespaceInput = builder.inputType("UpdateNamespaceInput", {
  description:
    "Changes to a namespace. `default` takes only `publicEndpoint`; its description is fixed.",
  fields: (t) => ({
    name: t.string({ required: true, description: "The namespace to change." }),
    description: t.string({ description: "Its new description." }),
    publicEndpoint: t.field({
      type: PublicEndpointInput,
      description: "Its public endpoint, replaced whole.",
    }),
  }),
});

const DeleteNamespaceInput = builder.inputType("DeleteNamespaceInput", {
  description: "The namespace to delete; it must have no instances.",
  fields: (t) => ({
    name: t.string({ required: true, description: "The namespace to delete." }),
  }),
});

interface NamespacePayload {
  namespace?: Namespace;
  userErrors: UserErrorRecord[];
}

const namespacePayload = (name: string, description: string) =>
  builder.objectRef<NamespacePayload>(name).implement({
    description,
    fields: (t) => ({
      namespace: t.expose("namespace", {
        type: NamespaceRef,
        nullable: true,
        description: "The namespace as it is now; null when refused.",
      }),
      userErrors: t.expose("userErrors", {
        type: [UserErrorRef],
        description: "Why the upstream refused, if it did.",
      }),
    }),
  });

const CreateNamespacePayload = namespacePayload(
  "CreateNamespacePayload",
  "The namespace created, or why not: NAME_TAKEN, DEFAULT_NAMESPACE, LIMIT_REACHED.",
);
const UpdateNamespacePayload = namespacePayload(
  "UpdateNamespacePayload",
  "The namespace changed, or why not: DEFAULT_NAMESPACE (its description).",
);

interface DeletedNamespace {
  name?: string;
  userErrors: UserErrorRecord[];
}

const DeleteNamespacePayload = builder
  .objectRef<DeletedNamespace>("DeleteNamespacePayload")
  .implement({
    description: "The namespace deleted, or why not: NAMESPACE_NOT_EMPTY, DEFAULT_NAMESPACE.",
    fields: (t) => ({
      deletedNamespaceId: t.id({
        nullable: true,
        description: "The global id it had, to drop it from client caches.",
        resolve: (p) => (p.name ? encodeGlobalID("Namespace", p.name) : null),
      }),
      name: t.exposeString("name", { nullable: true, description: "Its name." }),
      userErrors: t.expose("userErrors", {
        type: [UserErrorRef],
        description: "Why it was refused.",
      }),
    }),
  });

builder.mutationFields((t) => ({
  createNamespace: t.field({
    type: CreateNamespacePayload,
    description: "Creates a namespace. Needs the `admin` scope.",
    args: { input: t.arg({ type: CreateNamespaceInput, required: true }) },
    resolve: (_root, { input }, context) => {
      const name = validateNamespace(input.name, "name");
      const description = validateDescription(input.description);
      const publicEndpoint = toPublicEndpoint(input.publicEndpoint);
      return withUserErrors(async () => {
        const namespace = await context.upstream.createNamespace({
          name,
          ...(description != null && { description }),
          ...(publicEndpoint && { public_endpoint_params: publicEndpoint }),
        });
        return { namespace };
      }, ["input", "name"]);
    },
  }),
  updateNamespace: t.field({
    type: UpdateNamespacePayload,
    description: "Changes a namespace's description or public endpoint. Needs the `admin` scope.",
    args: { input: t.arg({ type: UpdateNamespaceInput, required: true }) },
    resolve: (_root, { input }, context) => {
      const name = validateNamespace(input.name, "name");
      const description = validateDescription(input.description);
      const publicEndpoint = toPublicEndpoint(input.publicEndpoint);
      if (description === undefined && !publicEndpoint) {
        throw badUserInput("give a `description` or a `publicEndpoint` to change");
      }
      return withUserErrors(async () => {
        const namespace = await context.upstream.updateNamespace(name, {
          ...(description !== undefined && { description }),
          ...(publicEndpoint && { public_endpoint_params: publicEndpoint }),
        });
        context.loaders.namespace.clear(name).prime(name, namespace);
        return { namespace };
      }, ["input", "description"]);
    },
  }),
  deleteNamespace: t.field({
    type: DeleteNamespacePayload,
    description: "Deletes an empty namespace. Needs the `admin` scope.",
    args: { input: t.arg({ type: DeleteNamespaceInput, required: true }) },
    resolve: (_root, { input }, context) => {
      const name = validateNamespace(input.name, "name");
      return withUserErrors(async () => {
        await context.upstream.deleteNamespace(name);
        context.loaders.namespace.clear(name);
        return { name };
      }, ["input", "name"]);
    },
  }),
}));
