/**
 * The data directory: where content written through the API lives, so it survives a restart.
 *
 * ```
 * <dir>/state.json     namespaces, instances, items (not their content), jobs and logs
 * <dir>/blobs/<id>     the bytes of each uploaded item, exactly as uploaded
 * <dir>/tmp/           uploads in flight
 * ```
 *
 * Crash safety: every file is written under a temporary name, flushed to disk and renamed into
 * place, and an upload's blob is renamed in before the state that names it is written. What a
 * crash can leave behind is therefore only unreferenced: temp files and blobs no state names,
 * both removed when the directory is opened again. Without a configured directory a fresh one
 * is made under the OS temp dir on first write and removed on close (tests start many servers
 * and must not see each other's content). One process per directory.
 */

import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, unlink } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import type { ItemLog, ItemStatus, Job, JobLog } from "../upstream/management-types.ts";
import type { InstanceOverrides, NamespaceOverrides } from "./catalog.ts";
import type { MetadataValue } from "./documents.ts";

export const STATE_VERSION = 1;

/**
 * `$XDG_CACHE_HOME/aisearch-graphql-gateway/local-ai-search` (`~/.cache/...`): outside the
 * source tree (git and Docker build contexts never see it), kept across reboots unlike /tmp,
 * and plainly disposable: deleting it resets the local AI Search to the shipped corpus.
 */
export function defaultDataDir(env: Record<string, string | undefined> = process.env): string {
  const cache = env.XDG_CACHE_HOME || path.join(homedir(), ".cache");
  return path.join(cache, "aisearch-graphql-gateway", "local-ai-search");
}

export interface PersistedNamespace {
  name: string;
  created_at: string;
  corpus: boolean;
  base_description: string | null;
  overrides: NamespaceOverrides;
}

export interface PersistedItem {
  id: string;
  key: string;
  status: ItemStatus;
  error?: string;
  checksum: string;
  file_size: number;
  created_at: string;
  last_seen_at: string;
  activity_ms: number;
  custom_metadata: Record<string, MetadataValue>;
  logs: ItemLog[];
}

export interface PersistedJob {
  job: Job;
  logs: JobLog[];
  indexed: number;
  failed: number;
}

export interface PersistedInstance {
  id: string;
  namespace: string;
  /** `<namespace>/<instance>` of the corpus folder it reads, for corpus instances. */
  corpus?: string;
  created_at: string;
  modified_at: string;
  overrides: InstanceOverrides;
  /** Uploaded items only; corpus files are read from the corpus folder on every start. */
  items: PersistedItem[];
  jobs: PersistedJob[];
}

export interface PersistedState {
  version: number;
  namespaces: PersistedNamespace[];
  instances: PersistedInstance[];
  /** Corpus namespaces and instances (`ns/id`) deleted or moved away through the API. */
  removed_corpus: { namespaces: string[]; instances: string[] };
}

export class DataStore {
  private root: Promise<string> | undefined;
  private rootPath: string | undefined;
  private make: (() => PersistedState) | undefined;
  private queued: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private counter = 0;
  private closed = false;

  /** `dir` undefined: an ephemeral directory, made on first write and removed on close. */
  constructor(private readonly dir: string | undefined) {}

  get location(): string | undefined {
    return this.dir ?? this.rootPath;
  }

  /**
   * Reads the persisted state and clears what an interrupted write left behind. Undefined when
   * nothing was ever written. Unreadable state is an error: silently starting empty would
   * look like data loss.
   */
  async load(): Promise<PersistedState | undefined> {
    if (!this.dir) return undefined;
    let text: string;
    try {
      text = await readFile(path.join(this.dir, "state.json"), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      await this.clearTemporaries(this.dir);
      return undefined;
    }
    await this.clearTemporaries(this.dir);
    let state: PersistedState;
    try {
      state = JSON.parse(text) as PersistedState;
    } catch (error) {
      throw new Error(
        `${path.join(this.dir, "state.json")} is not valid JSON (${(error as Error).message})`,
      );
    }
    if (state.version !== STATE_VERSION) {
      throw new Error(`${this.dir}: unsupported state version ${String(state.version)}`);
    }
    return state;
  }

  /** Deletes blobs no item refers to (an upload that died between its blob and its state). */
  async removeOrphanBlobs(referenced: ReadonlySet<string>): Promise<void> {
    if (!this.dir) return;
    const names = await readdir(path.join(this.dir, "blobs")).catch(() => []);
    await Promise.all(
      names
        .filter((name) => !referenced.has(name))
        .map((name) => rm(path.join(this.dir!, "blobs", name), { force: true })),
    );
  }

  /** A fresh path for an upload in flight, on the same file system as the blobs. */
  async tempFile(): Promise<string> {
    const root = await this.ensureRoot();
    return path.join(root, "tmp", `${randomUUID()}.part`);
  }

  /** Flushes a completed upload and moves it into place as the blob of item `id`. */
  async commitBlob(tempFile: string, id: string): Promise<void> {
    const root = await this.ensureRoot();
    await flush(tempFile);
    await rename(tempFile, path.join(root, "blobs", id));
  }

  async readBlob(id: string): Promise<Buffer> {
    return readFile(path.join(await this.ensureRoot(), "blobs", id));
  }

  blobPath(id: string): Promise<string> {
    return this.ensureRoot().then((root) => path.join(root, "blobs", id));
  }

  async removeBlob(id: string): Promise<void> {
    await rm(path.join(await this.ensureRoot(), "blobs", id), { force: true });
  }

  /**
   * Writes the state `make` returns, soon. Calls made while a write runs share the next one,
   * whose snapshot is taken when it starts, so the returned promise settles once a write that
   * includes the caller's change is on disk.
   */
  save(make: () => PersistedState): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.make = make;
    if (!this.queued) {
      // A failed write must not wedge the ones after it.
      this.queued = this.writing
        .catch(() => {})
        .then(() => {
          this.queued = undefined;
          const snapshot = this.make!();
          this.writing = this.writeState(snapshot);
          return this.writing;
        });
    }
    return this.queued;
  }

  /** Waits for pending writes; removes an ephemeral directory. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queued?.catch(() => {});
    await this.writing.catch(() => {});
    if (!this.dir && this.rootPath) await rm(this.rootPath, { recursive: true, force: true });
  }

  private async writeState(state: PersistedState): Promise<void> {
    const root = await this.ensureRoot();
    const temp = path.join(root, `state.json.${process.pid}.${++this.counter}.tmp`);
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(`${JSON.stringify(state)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path.join(root, "state.json"));
  }

  private ensureRoot(): Promise<string> {
    this.root ??= (async () => {
      const root = this.dir ?? (await mkdtemp(path.join(tmpdir(), "local-ai-search-data-")));
      await mkdir(path.join(root, "blobs"), { recursive: true });
      await mkdir(path.join(root, "tmp"), { recursive: true });
      this.rootPath = root;
      return root;
    })();
    return this.root;
  }

  private async clearTemporaries(dir: string): Promise<void> {
    await rm(path.join(dir, "tmp"), { recursive: true, force: true });
    const names = await readdir(dir).catch(() => []);
    await Promise.all(
      names
        .filter((name) => name.startsWith("state.json.") && name.endsWith(".tmp"))
        .map((name) => unlink(path.join(dir, name)).catch(() => {})),
    );
  }
}

async function flush(file: string): Promise<void> {
  const handle = await open(file, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
