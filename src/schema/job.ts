import { builder } from "../builder.ts";
import type { JobRecord } from "../loaders.ts";
import type { Job, JobLog } from "../upstream/management-types.ts";
import { knownOrNull } from "./enums.ts";
import { recordLocalId } from "./global-ids.ts";
import { parseRecordGlobalId } from "./item.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { connectionWithTotalCount, resolvePagedConnection } from "./pagination.ts";
import { InstanceRef } from "./refs.ts";
import { type UserErrorRecord, UserErrorRef, withUserErrors } from "./user-errors.ts";

/*
 * Jobs: sync runs of an instance. The upstream gives a job no status, only `ended_at` and
 * `end_reason`; the graph derives one, and keeps the upstream's reason beside it.
 */

const JobStatus = builder.enumType("JobStatus", {
  description: "Where a sync run is.",
  values: {
    RUNNING: { description: "Not ended yet." },
    COMPLETED: { description: "Ended having done everything." },
    FAILED: { description: "Ended with errors (some items, or the scan itself)." },
    CANCELLED: { description: "Cancelled before it finished." },
    ENDED: { description: "Ended for another reason; see `endReason`." },
  } as const,
});

type JobStatusValue = "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED" | "ENDED";

function jobStatus(job: Job): JobStatusValue {
  if (!job.ended_at) return "RUNNING";
  switch (job.end_reason) {
    case "completed":
      return "COMPLETED";
    case "errors":
    case "error":
      return "FAILED";
    case "cancelled":
      return "CANCELLED";
    default:
      return "ENDED";
  }
}

const JobSource = builder.enumType("JobSource", {
  description: "Who started a sync run.",
  values: {
    USER: { value: "user", description: "Someone, through the API." },
    SCHEDULE: { value: "schedule", description: "The instance's sync interval." },
  } as const,
});

const JobLogLevel = builder.enumType("JobLogLevel", {
  description: "How much a job log entry matters.",
  values: {
    INFO: { value: 1, description: "Progress." },
    WARNING: { value: 2, description: "Something to look at." },
    ERROR: { value: 3, description: "Something failed." },
  } as const,
});

const JobLogRef = builder.objectRef<JobLog>("JobLog").implement({
  description: "One entry of a sync run's log.",
  fields: (t) => ({
    message: t.exposeString("message", { description: "What happened." }),
    level: t.field({
      type: JobLogLevel,
      nullable: true,
      description: "How much it matters (null for a level this gateway does not know).",
      resolve: (log) =>
        [1, 2, 3].includes(log.message_type) ? (log.message_type as 1 | 2 | 3) : null,
    }),
    createdAt: t.field({
      type: "DateTime",
      description: "When.",
      resolve: (log) => new Date(log.created_at),
    }),
  }),
});

export const JobRef = builder.objectRef<JobRecord>("Job");

builder.node(JobRef, {
  description: "A sync run of an instance: it rescans the source and retries failed items.",
  id: { resolve: recordLocalId },
  loadOne: (localId, context) => context.loaders.job.load(parseRecordGlobalId(localId)),
  fields: (t) => ({
    jobId: t.exposeString("id", { description: "The job's upstream id." }),
    status: t.field({
      type: JobStatus,
      description: "Derived from `endedAt` and `endReason`.",
      resolve: (job) => jobStatus(job),
    }),
    source: t.field({
      type: JobSource,
      nullable: true,
      description: "Who started it.",
      resolve: (job) => knownOrNull(["user", "schedule"] as const, job.source),
    }),
    description: t.exposeString("description", { nullable: true, description: "Why it ran." }),
    startedAt: t.expose("started_at", {
      type: "DateTime",
      nullable: true,
      description: "When it started.",
    }),
    lastSeenAt: t.expose("last_seen_at", {
      type: "DateTime",
      nullable: true,
      description: "When it last reported progress.",
    }),
    endedAt: t.expose("ended_at", {
      type: "DateTime",
      nullable: true,
      description: "When it ended.",
    }),
    endReason: t.exposeString("end_reason", {
      nullable: true,
      description: "Why it ended, in the upstream's words (e.g. `completed`).",
    }),
    instance: t.field({
      type: InstanceRef,
      nullable: true,
      description: "The instance it synced.",
      resolve: (job, _args, context) =>
        context.loaders.instance.load({ namespace: job.namespace, id: job.instanceId }),
    }),
    logs: t.connection(
      {
        type: JobLogRef,
        description: "Its log, oldest first (one upstream call per page).",
        resolve: (job, args, context) =>
          resolvePagedConnection(args, (page, perPage) =>
            context.upstream.listJobLogs(job.namespace, job.instanceId, job.id, { page, perPage }),
          ),
      },
      connectionWithTotalCount("log entries"),
    ),
  }),
});

builder.objectFields(InstanceRef, (t) => ({
  jobs: t.connection(
    {
      type: JobRef,
      description: "The instance's sync runs, newest first.",
      resolve: async (instance, args, context) => {
        const namespace = instance.namespace;
        const connection = await resolvePagedConnection(args, async (page, perPage) => {
          const result = await context.upstream.listJobs(namespace, instance.id, { page, perPage });
          return {
            ...result,
            items: result.items.map((job) => ({ ...job, namespace, instanceId: instance.id })),
          };
        });
        for (const { node } of connection.edges) {
          context.loaders.job.prime({ namespace, instanceId: instance.id, id: node.id }, node);
        }
        return connection;
      },
    },
    connectionWithTotalCount("jobs"),
  ),
}));

const StartInstanceSyncInput = builder.inputType("StartInstanceSyncInput", {
  description: "The instance to sync.",
  fields: (t) => ({
    namespace: t.string({ defaultValue: "default", description: "Its namespace." }),
    instanceId: t.string({ required: true, description: "Its id." }),
    description: t.string({ description: "Why, for the job's record (at most 1024 characters)." }),
  }),
});

interface JobPayload {
  job?: JobRecord;
  userErrors: UserErrorRecord[];
}

const StartInstanceSyncPayload = builder
  .objectRef<JobPayload>("StartInstanceSyncPayload")
  .implement({
    description: "The sync job started, or why not: SYNC_TOO_SOON (with `retryAfterMs`).",
    fields: (t) => ({
      job: t.expose("job", { type: JobRef, nullable: true, description: "The job started." }),
      userErrors: t.expose("userErrors", {
        type: [UserErrorRef],
        description: "Why it was refused.",
      }),
    }),
  });

builder.mutationFields((t) => ({
  startInstanceSync: t.field({
    type: StartInstanceSyncPayload,
    description:
      "Starts a sync of the instance's source (a job); at most one per cooldown (30 s upstream). Needs `admin`.",
    args: { input: t.arg({ type: StartInstanceSyncInput, required: true }) },
    resolve: (_root, { input }, context) => {
      const namespace = validateNamespace(input.namespace);
      const instanceId = validateInstanceId(input.instanceId, "instanceId");
      return withUserErrors(async () => {
        const job = await context.upstream.startJob(namespace, instanceId, {
          ...(input.description != null && { description: input.description }),
        });
        return { job: { ...job, namespace, instanceId } };
      });
    },
  }),
}));
