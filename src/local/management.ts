/**
 * Writing namespaces and instances: create, update, delete, and moving an instance to another
 * namespace. Rules and error codes are Cloudflare's (see docs/aisearch-management-api.md): the
 * `default` namespace cannot be created or deleted and only its public endpoint can change; a
 * namespace must be empty to be deleted; instance ids are unique within a namespace.
 *
 * Instances created here are managed, upload-only storage: the local server has no R2 buckets
 * or website crawler to connect, so `type`/`source` are refused rather than silently ignored.
 */

import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { PublicEndpointParams } from "../upstream/management-types.ts";
import {
  type InstanceOverrides,
  type LiveInstance,
  type NamespaceRecord,
  toNamespace,
} from "./catalog.ts";
import { validateChunkingSettings } from "./chunking.ts";
import {
  namespaceNotFound,
  parseBody,
  type RequestContext,
  requireInstance,
  requireNamespace,
} from "./context.ts";
import { DEFAULT_INSTANCE_SETTINGS, SLUG } from "./corpus.ts";
import { ApiError, ErrorCode, sendResult } from "./http.ts";
import { boostByEntry } from "./schemas.ts";

const MAX_NAMESPACES = 100;
const MAX_PUBLIC_INSTANCES = 10;
const SLUG_RULE =
  "lowercase letters, digits, '-' and '_', starting with a letter or digit, at most 64";

const slug = (field: string) =>
  z.string({ error: `${field} is required` }).regex(SLUG, `${field} must be ${SLUG_RULE}`);

const endpointSwitch = z.object({ disabled: z.boolean().optional() });
const publicEndpointParams = z.object({
  enabled: z.boolean().optional(),
  instances_allowed: z
    .array(z.string())
    .max(
      MAX_PUBLIC_INSTANCES,
      `instances_allowed may name at most ${MAX_PUBLIC_INSTANCES} instances`,
    )
    .optional(),
  authorized_hosts: z.array(z.string().min(1)).optional(),
  custom_domains: z.array(z.string().min(1)).nullable().optional(),
  default_domain_enabled: z.boolean().optional(),
  chat_completions_endpoint: endpointSwitch.optional(),
  search_endpoint: endpointSwitch.optional(),
  mcp: z
    .object({ description: z.string().optional(), disabled: z.boolean().optional() })
    .optional(),
  rate_limit: z
    .object({
      period_ms: z.number().int().positive().optional(),
      requests: z.number().int().positive().optional(),
      technique: z.enum(["fixed", "sliding"]).optional(),
    })
    .optional(),
});
const description = z.string().max(256, "description must be at most 256 characters").nullable();
const objectBody = { error: "the request body must be a JSON object" };

const namespaceCreate = z.object(
  {
    name: slug("name"),
    description: description.optional(),
    public_endpoint_params: publicEndpointParams.optional(),
  },
  objectBody,
);
const namespaceUpdate = z.object(
  {
    description: description.optional(),
    public_endpoint_params: publicEndpointParams.nullable().optional(),
  },
  objectBody,
);

const instanceSettings = {
  ai_search_model: z.string().nullable().optional(),
  embedding_model: z.string().nullable().optional(),
  chunk: z.boolean().optional(),
  chunk_size: z.number().int().min(1).max(8192).optional(),
  chunk_overlap: z.number().int().min(0).optional(),
  max_num_results: z.number().int().min(1).max(50).optional(),
  score_threshold: z.number().min(0).max(1).optional(),
  fusion_method: z.enum(["max", "rrf"]).optional(),
  index_method: z
    .object({ keyword: z.boolean().optional(), vector: z.boolean().optional() })
    .optional(),
  retrieval_options: z
    .object({
      keyword_match_mode: z.enum(["and", "or"]).optional(),
      boost_by: z.array(boostByEntry).max(3).optional(),
    })
    .nullable()
    .optional(),
  custom_metadata: z
    .array(
      z.object({
        field_name: z.string().min(1).max(64),
        data_type: z.enum(["text", "number", "boolean", "datetime"]),
      }),
    )
    .max(5, "custom_metadata may declare at most 5 fields")
    .optional(),
  reranking: z.boolean().optional(),
  reranking_model: z.string().nullable().optional(),
  rewrite_query: z.boolean().optional(),
  rewrite_model: z.string().nullable().optional(),
  cache: z.boolean().optional(),
  cache_threshold: z
    .enum(["super_strict_match", "close_enough", "flexible_friend", "anything_goes"])
    .optional(),
  cache_ttl: z
    .union(
      [600, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 259200, 518400].map((v) => z.literal(v)),
    )
    .optional(),
  sync_interval: z
    .union([900, 1800, 3600, 7200, 14400, 21600, 43200, 86400].map((v) => z.literal(v)))
    .optional(),
  type: z.enum(["r2", "web-crawler"]).nullable().optional(),
  source: z.string().nullable().optional(),
};
const instanceCreate = z.object({ id: slug("id"), ...instanceSettings }, objectBody);
const instanceUpdate = z.object(
  { ...instanceSettings, paused: z.boolean().optional() },
  objectBody,
);
const instanceMove = z.object({ new_namespace: slug("new_namespace") }, objectBody);

function defaultNamespace(what: string): ApiError {
  return new ApiError(
    400,
    ErrorCode.defaultNamespace,
    `cannot_modify_default_namespace: the default namespace ${what}`,
  );
}

export async function createNamespace(ctx: RequestContext): Promise<void> {
  const body = parseBody(namespaceCreate, ctx);
  const { catalog } = ctx.services;
  if (body.name === "default") throw defaultNamespace("always exists and cannot be created");
  if (catalog.namespaces.has(body.name)) {
    throw new ApiError(
      409,
      ErrorCode.namespaceExists,
      `namespace_already_exists: namespace "${body.name}" already exists`,
    );
  }
  if (catalog.namespaces.size >= MAX_NAMESPACES) {
    throw new ApiError(
      403,
      ErrorCode.maxNamespaces,
      `max_namespaces_reached: an account has at most ${MAX_NAMESPACES} namespaces`,
    );
  }
  const record: NamespaceRecord = {
    name: body.name,
    createdAt: new Date().toISOString(),
    fromCorpus: false,
    baseDescription: null,
    overrides: { description: body.description ?? null },
    instances: new Map(),
  };
  if (body.public_endpoint_params) setPublicEndpoint(record, body.public_endpoint_params);
  catalog.namespaces.set(record.name, record);
  await ctx.services.persist();
  sendResult(ctx.res, toNamespace(record));
}

export async function updateNamespace(ctx: RequestContext): Promise<void> {
  const namespace = requireNamespace(ctx);
  const body = parseBody(namespaceUpdate, ctx);
  if (body.description !== undefined) {
    if (namespace.name === "default") throw defaultNamespace("keeps its description");
    namespace.overrides.description = body.description;
  }
  if (body.public_endpoint_params !== undefined) {
    setPublicEndpoint(namespace, body.public_endpoint_params);
  }
  await ctx.services.persist();
  sendResult(ctx.res, toNamespace(namespace));
}

/** Replaces the public endpoint settings whole, as upstream does; the endpoint id stays. */
function setPublicEndpoint(namespace: NamespaceRecord, params: PublicEndpointParams | null): void {
  for (const id of params?.instances_allowed ?? []) {
    if (!namespace.instances.has(id)) {
      throw new ApiError(
        400,
        ErrorCode.invalidRequest,
        `invalid_request: public_endpoint_params.instances_allowed: "${id}" is not an instance of namespace "${namespace.name}"`,
        "/public_endpoint_params/instances_allowed",
      );
    }
  }
  namespace.overrides.public_endpoint_params = params;
  if (params) namespace.overrides.public_endpoint_id ??= randomBytes(16).toString("hex");
}

export async function deleteNamespace(ctx: RequestContext): Promise<void> {
  const namespace = requireNamespace(ctx);
  if (namespace.name === "default") throw defaultNamespace("cannot be deleted");
  if (namespace.instances.size > 0) {
    throw new ApiError(
      400,
      ErrorCode.namespaceNotEmpty,
      `namespace_not_empty: namespace "${namespace.name}" still has ${namespace.instances.size} instance(s); move or delete them first`,
    );
  }
  const { catalog } = ctx.services;
  catalog.namespaces.delete(namespace.name);
  if (namespace.fromCorpus) catalog.removedCorpus.namespaces.add(namespace.name);
  await ctx.services.persist();
  sendResult(ctx.res, toNamespace(namespace));
}

export async function createInstance(ctx: RequestContext): Promise<void> {
  const namespace = requireNamespace(ctx);
  const { id, ...settings } = parseBody(instanceCreate, ctx);
  refuseExternalSource(settings);
  if (namespace.instances.has(id)) throw instanceExists(id, namespace.name);
  const now = new Date().toISOString();
  const overrides = checkedOverrides(settings, DEFAULT_INSTANCE_SETTINGS);
  const instance = ctx.services.catalog.newInstance(
    id,
    namespace.name,
    { ...DEFAULT_INSTANCE_SETTINGS, createdAt: now, modifiedAt: now },
    overrides,
  );
  namespace.instances.set(id, instance);
  await ctx.services.persist();
  sendResult(ctx.res, ctx.services.catalog.toInstance(instance));
}

export async function updateInstance(ctx: RequestContext): Promise<void> {
  const { instance } = requireInstance(ctx);
  const settings = parseBody(instanceUpdate, ctx);
  refuseExternalSource(settings);
  const overrides = checkedOverrides({ ...instance.overrides, ...settings }, instance.base);
  const rechunk = instance.update(overrides, new Date().toISOString());
  // New chunking applies to everything already indexed; until then the old chunks answer.
  if (rechunk) requeueAll(ctx, instance);
  await ctx.services.persist();
  sendResult(ctx.res, ctx.services.catalog.toInstance(instance));
}

function requeueAll(ctx: RequestContext, instance: LiveInstance): void {
  for (const item of instance.items.values()) {
    if (item.status !== "skipped") ctx.services.indexer.enqueue(instance, item, "outdated");
  }
}

export async function deleteInstance(ctx: RequestContext): Promise<void> {
  const { namespace, instance } = requireInstance(ctx);
  const { catalog, indexer, store } = ctx.services;
  const wire = catalog.toInstance(instance);
  namespace.instances.delete(instance.id);
  indexer.forget(instance);
  const uploaded = [...instance.items.values()].filter((item) => item.sourceId === "builtin");
  for (const item of instance.items.values()) instance.setDocument(item, undefined);
  instance.items.clear();
  if (instance.corpus) catalog.removedCorpus.instances.add(instance.corpus.key);
  await ctx.services.persist();
  await Promise.all(uploaded.map((item) => store.removeBlob(item.id)));
  sendResult(ctx.res, wire);
}

/** `PATCH .../instances/{id}` with `{new_namespace}`. */
export async function moveInstance(ctx: RequestContext): Promise<void> {
  const { namespace, instance } = requireInstance(ctx);
  const { new_namespace } = parseBody(instanceMove, ctx);
  if (new_namespace === namespace.name) {
    throw new ApiError(
      400,
      ErrorCode.namespaceSameName,
      `namespace_same_name: instance "${instance.id}" is already in namespace "${new_namespace}"`,
    );
  }
  const target = ctx.services.catalog.namespace(new_namespace);
  if (!target) throw namespaceNotFound(new_namespace);
  if (target.instances.has(instance.id)) throw instanceExists(instance.id, target.name);
  namespace.instances.delete(instance.id);
  // The old namespace's public endpoint can no longer expose it.
  const allowed = namespace.overrides.public_endpoint_params?.instances_allowed;
  if (allowed?.includes(instance.id)) {
    namespace.overrides.public_endpoint_params!.instances_allowed = allowed.filter(
      (id) => id !== instance.id,
    );
  }
  target.instances.set(instance.id, instance);
  instance.namespace = target.name;
  await ctx.services.persist();
  sendResult(ctx.res, ctx.services.catalog.toInstance(instance));
}

function instanceExists(id: string, namespace: string): ApiError {
  return new ApiError(
    400,
    ErrorCode.instanceExists,
    `ai_search_with_this_name_already_exist: namespace "${namespace}" already has an instance "${id}"`,
  );
}

function refuseExternalSource(settings: { type?: string | null; source?: string | null }): void {
  if (!settings.type && !settings.source?.trim()) return;
  throw new ApiError(
    400,
    ErrorCode.invalidRequest,
    "invalid_request: the local AI Search creates managed (upload-only) instances only; " +
      "it cannot connect R2 buckets or websites (omit type and source)",
    settings.type ? "/type" : "/source",
  );
}

/** The settings as they will apply, checked together (overlap below size). */
function checkedOverrides(
  overrides: InstanceOverrides,
  base: typeof DEFAULT_INSTANCE_SETTINGS,
): InstanceOverrides {
  const { type: _type, source: _source, ...kept } = overrides;
  // A small chunk_size alone should not trip over the default overlap.
  if (kept.chunk_size !== undefined && kept.chunk_overlap === undefined) {
    const overlap = base.chunkOverlap;
    if (overlap >= kept.chunk_size) kept.chunk_overlap = Math.floor(kept.chunk_size / 4);
  }
  try {
    validateChunkingSettings({
      chunkSize: kept.chunk_size ?? base.chunkSize,
      chunkOverlap: kept.chunk_overlap ?? base.chunkOverlap,
    });
  } catch (error) {
    throw new ApiError(
      400,
      ErrorCode.invalidRequest,
      `invalid_request: ${(error as Error).message}`,
    );
  }
  return kept;
}
