/**
 * The management API of a bound client, part one: creating, changing and deleting namespaces
 * and instances, moving an instance, and the sync jobs of an instance (start, list, read,
 * cancel, logs). Wire facts: docs/aisearch-management-api.md.
 *
 * Every name that reaches a URL or a body's name field is checked first, so a refused name
 * costs no request. Writes go out as kind `write`: retried only when the upstream cannot have
 * applied them. Reads are kind `read`: retried, and shared between identical callers in flight.
 */
import { BoundCalls } from "./calls.ts";
import { InvalidArgumentError } from "./errors.ts";
import type {
  InstanceCreateRequest,
  InstanceUpdateRequest,
  Job,
  JobLog,
  NamespaceCreateRequest,
  NamespaceUpdateRequest,
} from "./management-types.ts";
import { assertInstanceId, assertJobId, assertNamespaceName, segment } from "./names.ts";
import { type CallOptions, type ListParams, listQuery, type Page } from "./options.ts";
import type { Instance, Namespace } from "./types.ts";

/** Page parameters of the lists that take no search (jobs, job logs). */
export type PageParams = Pick<ListParams, "page" | "perPage">;

/** Longest job description sent (the local server's bound; Cloudflare documents none). */
const MAX_JOB_DESCRIPTION = 1024;

export abstract class ManagementCalls extends BoundCalls {
  async createNamespace(body: NamespaceCreateRequest, opts?: CallOptions): Promise<Namespace> {
    assertNamespaceName(body?.name);
    const path = this.apiPath("/namespaces");
    return (await this.write("createNamespace", "POST", path, body, opts)) as Namespace;
  }

  async updateNamespace(
    name: string,
    body: NamespaceUpdateRequest,
    opts?: CallOptions,
  ): Promise<Namespace> {
    assertNamespaceName(name);
    const path = this.namespacePath(name);
    return (await this.write("updateNamespace", "PUT", path, body, opts)) as Namespace;
  }

  /** Resolves once deleted; the upstream documents no result, so none is returned. */
  async deleteNamespace(name: string, opts?: CallOptions): Promise<void> {
    assertNamespaceName(name);
    await this.write("deleteNamespace", "DELETE", this.namespacePath(name), undefined, opts, true);
  }

  async createInstance(
    namespace: string,
    body: InstanceCreateRequest,
    opts?: CallOptions,
  ): Promise<Instance> {
    assertNamespaceName(namespace);
    assertInstanceId(body?.id);
    const path = `${this.namespacePath(namespace)}/instances`;
    return (await this.write("createInstance", "POST", path, body, opts)) as Instance;
  }

  async updateInstance(
    namespace: string,
    id: string,
    body: InstanceUpdateRequest,
    opts?: CallOptions,
  ): Promise<Instance> {
    const path = this.instancePath(namespace, id);
    return (await this.write("updateInstance", "PUT", path, body, opts)) as Instance;
  }

  /** The deleted instance, as it was. */
  async deleteInstance(namespace: string, id: string, opts?: CallOptions): Promise<Instance> {
    const path = this.instancePath(namespace, id);
    return (await this.write("deleteInstance", "DELETE", path, undefined, opts)) as Instance;
  }

  /**
   * Moves an instance to `toNamespace` (`PATCH {new_namespace}`). The upstream documents no
   * result: the moved instance is returned when it sends one, else undefined.
   */
  async moveInstance(
    namespace: string,
    id: string,
    toNamespace: string,
    opts?: CallOptions,
  ): Promise<Instance | undefined> {
    const path = this.instancePath(namespace, id);
    assertNamespaceName(toNamespace);
    const body = { new_namespace: toNamespace };
    const result = await this.write("moveInstance", "PATCH", path, body, opts, true);
    return typeof result === "object" && result !== null ? (result as Instance) : undefined;
  }

  /** Newest first. */
  async listJobs(
    namespace: string,
    id: string,
    params: PageParams = {},
    opts?: CallOptions,
  ): Promise<Page<Job>> {
    const path = `${this.instancePath(namespace, id)}/jobs${listQuery(params)}`;
    return this.list<Job>("listJobs", path, params, opts);
  }

  async getJob(namespace: string, id: string, jobId: string, opts?: CallOptions): Promise<Job> {
    return (await this.record("getJob", this.#job(namespace, id, jobId), opts)) as Job;
  }

  /** Starts a sync of the instance's source; refused with a cooldown error within 30 s of the last. */
  async startJob(
    namespace: string,
    id: string,
    body: { description?: string } = {},
    opts?: CallOptions,
  ): Promise<Job> {
    const path = `${this.instancePath(namespace, id)}/jobs`;
    const description = body?.description;
    if (
      description !== undefined &&
      (typeof description !== "string" || description.length > MAX_JOB_DESCRIPTION)
    ) {
      throw new InvalidArgumentError("description", `at most ${MAX_JOB_DESCRIPTION} characters`);
    }
    const payload = description === undefined ? {} : { description };
    return (await this.write("startJob", "POST", path, payload, opts)) as Job;
  }

  async cancelJob(namespace: string, id: string, jobId: string, opts?: CallOptions): Promise<Job> {
    const path = this.#job(namespace, id, jobId);
    return (await this.write("cancelJob", "PATCH", path, { action: "cancel" }, opts)) as Job;
  }

  /** Oldest first. */
  async listJobLogs(
    namespace: string,
    id: string,
    jobId: string,
    params: PageParams = {},
    opts?: CallOptions,
  ): Promise<Page<JobLog>> {
    const path = `${this.#job(namespace, id, jobId)}/logs${listQuery(params)}`;
    return this.list<JobLog>("listJobLogs", path, params, opts);
  }

  #job(namespace: string, id: string, jobId: string): string {
    const instance = this.instancePath(namespace, id);
    assertJobId(jobId);
    return `${instance}/jobs/${segment(jobId)}`;
  }
}
