/**
 * Sync jobs of an instance (`.../instances/{id}/jobs[...]`): start one (at most one user sync
 * per cooldown, Cloudflare's 30 s), list, get, cancel, and read a job's logs. The work a job
 * does is in indexing.ts.
 */

import { z } from "zod";
import type { Job } from "../upstream/management-types.ts";
import { paginate } from "./catalog.ts";
import {
  parseBody,
  parseQuery,
  type RequestContext,
  requireInstance,
  requireJob,
} from "./context.ts";
import { ApiError, ErrorCode, sendResult } from "./http.ts";
import { listQuery } from "./schemas.ts";

const startBody = z
  .object(
    { description: z.string().max(1024).optional() },
    {
      error: "the request body must be a JSON object",
    },
  )
  .optional();
const updateBody = z.object(
  { action: z.literal("cancel", { error: 'action must be "cancel"' }) },
  { error: "the request body must be a JSON object" },
);

export async function startJob(ctx: RequestContext): Promise<void> {
  const { instance } = requireInstance(ctx);
  // The SDK sends no body when there is no description.
  const body = ctx.body.length === 0 ? undefined : parseBody(startBody, ctx);
  const last = instance.lastJob();
  if (last?.job.started_at) {
    const waitMs = Date.parse(last.job.started_at) + ctx.services.syncCooldownMs - Date.now();
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new ApiError(
        429,
        ErrorCode.syncCooldown,
        `sync_in_cooldown: the last sync of "${instance.id}" started less than ` +
          `${Math.round(ctx.services.syncCooldownMs / 1000)} s ago; retry in ${seconds} s`,
        undefined,
        { "retry-after": String(seconds) },
      );
    }
  }
  const record = ctx.services.indexer.startJob(instance, body?.description);
  const started = { ...record.job };
  await ctx.services.persist();
  sendResult(ctx.res, started);
}

/** Newest first. */
export function listJobs(ctx: RequestContext): void {
  const { instance } = requireInstance(ctx);
  const query = parseQuery(listQuery, ctx.query);
  const jobs: Job[] = [...instance.jobs].reverse().map((record) => ({ ...record.job }));
  const page = paginate(jobs, query.page, query.per_page);
  sendResult(ctx.res, page.items, page.info);
}

export function getJob(ctx: RequestContext): void {
  sendResult(ctx.res, { ...requireJob(ctx).record.job });
}

export async function updateJob(ctx: RequestContext): Promise<void> {
  const { record } = requireJob(ctx);
  parseBody(updateBody, ctx);
  if (record.job.ended_at) {
    throw new ApiError(
      400,
      ErrorCode.jobNotCancellable,
      `job_cannot_be_cancelled: job "${record.job.id}" already ended (${record.job.end_reason})`,
    );
  }
  ctx.services.indexer.cancelJob(record);
  await ctx.services.persist();
  sendResult(ctx.res, { ...record.job });
}

/** Oldest first, page-paginated like the other lists. */
export function jobLogs(ctx: RequestContext): void {
  const { record } = requireJob(ctx);
  const query = parseQuery(listQuery, ctx.query);
  const page = paginate(record.logs, query.page, query.per_page);
  sendResult(ctx.res, page.items, page.info);
}
