import { builder } from "../builder.ts";
import type { JobRecord } from "../loaders.ts";
import type { ProgressEvent, ProgressSnapshot } from "../progress/hub.ts";
import { JobRef } from "./job.ts";
import { validateInstanceId, validateNamespace } from "./names.ts";
import { InstanceRef } from "./refs.ts";

type Counts = ProgressSnapshot["stats"];
const COUNTED = ["queued", "running", "completed", "error", "skipped", "outdated"] as const;

const ItemStatusCountsRef = builder.objectRef<Counts>("ItemStatusCounts").implement({
  description: "How many of an instance's items are in each indexing status.",
  fields: (t) => ({
    queued: t.int({ description: "Waiting to be indexed.", resolve: (c) => c.queued ?? 0 }),
    running: t.int({ description: "Being indexed now.", resolve: (c) => c.running ?? 0 }),
    completed: t.int({ description: "Indexed.", resolve: (c) => c.completed ?? 0 }),
    error: t.int({ description: "Failed to index.", resolve: (c) => c.error ?? 0 }),
    skipped: t.int({ description: "Not indexed.", resolve: (c) => c.skipped ?? 0 }),
    outdated: t.int({ description: "Changed since indexed.", resolve: (c) => c.outdated ?? 0 }),
    total: t.int({
      description: "All of them.",
      resolve: (c) => COUNTED.reduce((sum, status) => sum + (c[status] ?? 0), 0),
    }),
  }),
});

const jobsOf = (snapshot: ProgressSnapshot): JobRecord[] =>
  snapshot.jobs.map((job) => ({
    ...job,
    namespace: snapshot.namespace,
    instanceId: snapshot.instanceId,
  }));

/** Nothing left to do: no item waiting or running, and no job running. */
function isSettled(snapshot: ProgressSnapshot): boolean {
  const { queued = 0, running = 0, outdated = 0 } = snapshot.stats;
  return queued + running + outdated === 0 && snapshot.jobs.every((job) => job.ended_at);
}

const ProgressRef = builder
  .objectRef<Extract<ProgressEvent, { kind: "progress" }>>("InstanceIndexingProgress")
  .implement({
    description: "An instance's indexing progress, as it was when last polled.",
    isTypeOf: (event) => (event as ProgressEvent).kind === "progress",
    fields: (t) => ({
      namespace: t.string({
        description: "The instance's namespace.",
        resolve: (e) => e.snapshot.namespace,
      }),
      instanceId: t.string({
        description: "The instance's id.",
        resolve: (e) => e.snapshot.instanceId,
      }),
      instance: t.field({
        type: InstanceRef,
        nullable: true,
        description: "The instance (one more upstream read per event: select it only if needed).",
        resolve: ({ snapshot }, _args, context) =>
          context.loaders.instance.load({ namespace: snapshot.namespace, id: snapshot.instanceId }),
      }),
      items: t.field({
        type: ItemStatusCountsRef,
        description: "Its items by indexing status.",
        resolve: (e) => e.snapshot.stats,
      }),
      jobs: t.field({
        type: [JobRef],
        description: "Its latest sync runs, newest first.",
        resolve: (e) => jobsOf(e.snapshot),
      }),
      activeJob: t.field({
        type: JobRef,
        nullable: true,
        description: "The sync run in progress, if one is.",
        resolve: (e) => jobsOf(e.snapshot).find((job) => !job.ended_at) ?? null,
      }),
      settled: t.boolean({
        description: "True when no item waits or runs and no job runs: indexing is done for now.",
        resolve: (e) => isSettled(e.snapshot),
      }),
      lastActivity: t.field({
        type: "DateTime",
        nullable: true,
        description: "When indexing last did something.",
        resolve: (e) => e.snapshot.stats.last_activity ?? null,
      }),
      observedAt: t.field({
        type: "DateTime",
        description: "When the gateway read this from the upstream.",
        resolve: (e) => e.snapshot.observedAt,
      }),
    }),
  });

const FailedRef = builder
  .objectRef<Extract<ProgressEvent, { kind: "failed" }>>("IndexingProgressFailedEvent")
  .implement({
    description:
      "Last event of a progress subscription that cannot go on: the instance is gone (NOT_FOUND), the credentials were refused, or the gateway is shutting down (SHUTTING_DOWN, retryable).",
    isTypeOf: (event) => (event as ProgressEvent).kind === "failed",
    fields: (t) => ({
      code: t.exposeString("code", { description: "Stable error code, as in `extensions.code`." }),
      message: t.exposeString("message", { description: "What went wrong, safe to show." }),
      retryable: t.exposeBoolean("retryable", {
        description: "Whether subscribing again may work.",
      }),
    }),
  });

const ProgressEventRef = builder.unionType("InstanceIndexingProgressEvent", {
  description: "Progress as it changes, or the failure that ends the subscription.",
  types: [ProgressRef, FailedRef],
  // Named by the event's kind: Pothos' fallback (graphql-js' default resolver) fails under
  // compiled execution, which calls a union's resolveType without the union (useCompiledExecution).
  resolveType: (event) =>
    event.kind === "progress" ? "InstanceIndexingProgress" : "IndexingProgressFailedEvent",
});

builder.subscriptionFields((t) => ({
  instanceIndexingProgress: t.field({
    type: ProgressEventRef,
    description:
      "An instance's indexing progress (item status counts and its latest jobs), sent when it changes. The upstream has no push: the gateway polls it, once per interval per instance whatever the number of subscribers, backing off while nothing changes. Needs the `read` scope.",
    args: {
      namespace: t.arg.string({
        defaultValue: "default",
        description: "The instance's namespace.",
      }),
      instanceId: t.arg.string({ required: true, description: "The instance." }),
    },
    subscribe: (_root, args, context) => {
      const namespace = validateNamespace(args.namespace);
      const instanceId = validateInstanceId(args.instanceId, "instanceId");
      return context.progress.watch(context.upstream, namespace, instanceId, {
        signal: context.upstream.signal,
        drain: context.drainSignal,
      });
    },
    resolve: (event: ProgressEvent) => event,
  }),
}));
