/**
 * Routing under `/client/v4/accounts/{account_id}/ai-search`, and the read endpoints of
 * namespaces, instances and stats. Any account id is accepted: the local server has exactly
 * one account's worth of content. The legacy `/instances/{id}...` paths, which the SDK still
 * uses, name instances of the `default` namespace.
 */

import { chat, search } from "./answers.ts";
import { paginate, toNamespace } from "./catalog.ts";
import {
  type Handler,
  parseQuery,
  type RequestContext,
  requireInstance,
  requireNamespace,
} from "./context.ts";
import { ApiError, ErrorCode, sendResult } from "./http.ts";
import {
  createOrUpdateItem,
  deleteItem,
  downloadItem,
  getItem,
  itemChunks,
  itemLogs,
  listItems,
  syncItem,
} from "./items.ts";
import { getJob, jobLogs, listJobs, startJob, updateJob } from "./jobs.ts";
import {
  createInstance,
  createNamespace,
  deleteInstance,
  deleteNamespace,
  moveInstance,
  updateInstance,
  updateNamespace,
} from "./management.ts";
import { instanceListQuery, listQuery } from "./schemas.ts";
import { uploadItem } from "./uploads.ts";

interface Route {
  pattern: string[];
  methods: Record<string, Handler>;
  /** Methods whose handler reads the request body itself (streamed, not buffered). */
  streaming?: string[];
}

const API_PREFIX = /^\/client\/v4\/accounts\/[^/]+\/ai-search(?:\/(.*))?$/;
const NS = ["namespaces", ":namespace"];
const INSTANCE = [...NS, "instances", ":instance"];
const ITEM = [...INSTANCE, "items", ":item"];
const JOB = [...INSTANCE, "jobs", ":job"];

const ROUTES: Route[] = [
  { pattern: ["namespaces"], methods: { GET: listNamespaces, POST: createNamespace } },
  { pattern: NS, methods: { GET: getNamespace, PUT: updateNamespace, DELETE: deleteNamespace } },
  { pattern: [...NS, "search"], methods: { POST: (ctx) => search(ctx, "namespace") } },
  {
    pattern: [...NS, "chat", "completions"],
    methods: { POST: (ctx) => chat(ctx, "namespace") },
  },
  {
    pattern: [...NS, "instances"],
    methods: { GET: listInstances, POST: createInstance },
  },
  {
    pattern: INSTANCE,
    methods: {
      GET: getInstance,
      PUT: updateInstance,
      DELETE: deleteInstance,
      PATCH: moveInstance,
    },
  },
  { pattern: [...INSTANCE, "stats"], methods: { GET: getStats } },
  { pattern: [...INSTANCE, "search"], methods: { POST: (ctx) => search(ctx, "instance") } },
  {
    pattern: [...INSTANCE, "chat", "completions"],
    methods: { POST: (ctx) => chat(ctx, "instance") },
  },
  {
    pattern: [...INSTANCE, "items"],
    methods: { GET: listItems, POST: uploadItem, PUT: createOrUpdateItem },
    streaming: ["POST"],
  },
  { pattern: ITEM, methods: { GET: getItem, PATCH: syncItem, DELETE: deleteItem } },
  { pattern: [...ITEM, "chunks"], methods: { GET: itemChunks } },
  { pattern: [...ITEM, "logs"], methods: { GET: itemLogs } },
  { pattern: [...ITEM, "download"], methods: { GET: downloadItem } },
  { pattern: [...INSTANCE, "jobs"], methods: { GET: listJobs, POST: startJob } },
  { pattern: JOB, methods: { GET: getJob, PATCH: updateJob } },
  { pattern: [...JOB, "logs"], methods: { GET: jobLogs } },
];

export interface ResolvedRoute {
  handler: Handler;
  params: RequestContext["params"];
  /** The handler streams the body itself; the server must not buffer it. */
  streamsBody: boolean;
}

export function resolveRoute(method: string, path: string): ResolvedRoute {
  const rest = API_PREFIX.exec(path)?.[1];
  if (rest === undefined) throw noRoute(path);
  let segments = rest.replace(/\/$/, "").split("/");
  if (segments[0] === "instances") segments = ["namespaces", "default", ...segments];
  const verb = method === "HEAD" ? "GET" : method;
  for (const route of ROUTES) {
    const params = matchPattern(route.pattern, segments);
    if (!params) continue;
    const handler = route.methods[verb];
    if (!handler) {
      const allowed = Object.keys(route.methods);
      throw new ApiError(
        405,
        ErrorCode.methodNotAllowed,
        `method ${method} is not allowed on ${path}`,
        undefined,
        { allow: allowed.map((m) => (m === "GET" ? "GET, HEAD" : m)).join(", ") },
      );
    }
    return { handler, params, streamsBody: route.streaming?.includes(verb) ?? false };
  }
  throw noRoute(path);
}

function matchPattern(pattern: string[], segments: string[]): RequestContext["params"] | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!;
    const actual = segments[i]!;
    if (expected.startsWith(":")) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
      if (decoded.length === 0) return undefined;
      params[expected.slice(1)] = decoded;
    } else if (expected !== actual) return undefined;
  }
  return params;
}

function noRoute(path: string): ApiError {
  return new ApiError(404, ErrorCode.noRoute, `no route for ${path}`);
}

function listNamespaces(ctx: RequestContext): void {
  const query = parseQuery(listQuery, ctx.query);
  const { items, info } = paginate(
    ctx.services.catalog.listNamespaces(query.search),
    query.page,
    query.per_page,
  );
  sendResult(ctx.res, items, info);
}

function getNamespace(ctx: RequestContext): void {
  sendResult(ctx.res, toNamespace(requireNamespace(ctx)));
}

function listInstances(ctx: RequestContext): void {
  const namespace = requireNamespace(ctx);
  const query = parseQuery(instanceListQuery, ctx.query);
  const all = ctx.services.catalog.listInstances(
    namespace,
    query.search,
    query.order_by_direction ?? "asc",
  );
  const { items, info } = paginate(all, query.page, query.per_page);
  sendResult(ctx.res, items, info);
}

function getInstance(ctx: RequestContext): void {
  const { instance } = requireInstance(ctx);
  sendResult(ctx.res, ctx.services.catalog.toInstance(instance));
}

function getStats(ctx: RequestContext): void {
  const { instance } = requireInstance(ctx);
  sendResult(ctx.res, ctx.services.catalog.stats(instance));
}
