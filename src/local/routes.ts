/**
 * Routing under `/client/v4/accounts/{account_id}/ai-search`, and the read-only catalog
 * endpoints (namespaces, instances, stats). Any account id is accepted: the local server has
 * exactly one account's worth of content.
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
import { instanceListQuery, listQuery } from "./schemas.ts";

interface Route {
  pattern: string[];
  methods: Record<string, Handler>;
}

const API_PREFIX = /^\/client\/v4\/accounts\/[^/]+\/ai-search(?:\/(.*))?$/;

const ROUTES: Route[] = [
  { pattern: ["namespaces"], methods: { GET: listNamespaces } },
  { pattern: ["namespaces", ":namespace"], methods: { GET: getNamespace } },
  { pattern: ["namespaces", ":namespace", "instances"], methods: { GET: listInstances } },
  {
    pattern: ["namespaces", ":namespace", "instances", ":instance"],
    methods: { GET: getInstance },
  },
  {
    pattern: ["namespaces", ":namespace", "instances", ":instance", "stats"],
    methods: { GET: getStats },
  },
  {
    pattern: ["namespaces", ":namespace", "search"],
    methods: { POST: (ctx) => search(ctx, "namespace") },
  },
  {
    pattern: ["namespaces", ":namespace", "chat", "completions"],
    methods: { POST: (ctx) => chat(ctx, "namespace") },
  },
  {
    pattern: ["namespaces", ":namespace", "instances", ":instance", "search"],
    methods: { POST: (ctx) => search(ctx, "instance") },
  },
  {
    pattern: ["namespaces", ":namespace", "instances", ":instance", "chat", "completions"],
    methods: { POST: (ctx) => chat(ctx, "instance") },
  },
];

/** Upstream supports these writes; locally the corpus folder is the only source of truth. */
const READ_ONLY_HINT =
  "the local AI Search is read-only; change the corpus folder and restart instead";

export function resolveRoute(
  method: string,
  path: string,
): { handler: Handler; params: RequestContext["params"] } {
  const rest = API_PREFIX.exec(path)?.[1];
  if (rest === undefined) throw noRoute(path);
  const segments = rest.replace(/\/$/, "").split("/");
  for (const route of ROUTES) {
    const params = matchPattern(route.pattern, segments);
    if (!params) continue;
    const handler = route.methods[method === "HEAD" ? "GET" : method];
    if (!handler) {
      const allowed = Object.keys(route.methods);
      const writes =
        ["POST", "PUT", "PATCH", "DELETE"].includes(method) && !allowed.includes("POST");
      throw new ApiError(
        405,
        ErrorCode.methodNotAllowed,
        `method ${method} is not allowed on ${path}${writes ? `: ${READ_ONLY_HINT}` : ""}`,
        undefined,
        { allow: allowed.includes("GET") ? "GET, HEAD" : allowed.join(", ") },
      );
    }
    return { handler, params };
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
    ctx.services.catalog.namespaces(query.search),
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
  const all = ctx.services.catalog.instances(
    namespace,
    query.search,
    query.order_by_direction ?? "asc",
  );
  const { items, info } = paginate(all, query.page, query.per_page);
  sendResult(ctx.res, items, info);
}

function getInstance(ctx: RequestContext): void {
  const { instance } = requireInstance(ctx);
  sendResult(ctx.res, ctx.services.catalog.toInstance(instance.corpus));
}

function getStats(ctx: RequestContext): void {
  const { instance } = requireInstance(ctx);
  sendResult(ctx.res, ctx.services.catalog.stats(instance.corpus));
}
