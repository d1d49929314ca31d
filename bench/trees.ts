/**
 * The source trees a bench starts gateways from: this working tree (uncommitted changes
 * included), and optionally another commit, so one run measures before and after a change on
 * the same machine at the same moment.
 *
 * Another commit is exported with `git archive` into a temporary directory: nothing in the
 * repository changes (no worktree entry, no checkout), and a crashed bench leaves at most a
 * directory in the system's temp folder. Its `node_modules` is a symlink to this tree's when
 * both package-lock.json files are the same; otherwise `npm ci` installs the commit's own once
 * (slower, and the run says so), kept in the temp folder for later runs with the same lock.
 */

import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rename, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SettingsError } from "./settings.ts";

const run = promisify(execFile);
export const THIS_TREE = path.resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface Tree {
  /** e.g. `this tree (1a2b3c4+changes)` or `679ddaa`. */
  label: string;
  root: string;
  cleanup(): Promise<void>;
}

const git = async (cwd: string, ...args: string[]) =>
  (await run("git", ["-C", cwd, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();

export async function thisTree(): Promise<Tree> {
  let label = "this tree";
  try {
    const head = await git(THIS_TREE, "rev-parse", "--short", "HEAD");
    const changed = (await git(THIS_TREE, "status", "--porcelain", "--untracked-files=no")) !== "";
    label = `this tree (${head}${changed ? "+changes" : ""})`;
  } catch {
    // Not a git checkout (an exported tree): the label stays generic.
  }
  return { label, root: THIS_TREE, cleanup: async () => {} };
}

/** Exports `ref` (a commit, branch or tag of this repository) and makes it runnable. */
export async function treeAt(ref: string): Promise<Tree> {
  let commit: string;
  try {
    commit = await git(THIS_TREE, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`);
  } catch {
    throw new SettingsError(`--baseline-ref=${ref}: not a commit of this repository`);
  }
  const short = commit.slice(0, 7);
  const root = await mkdtemp(path.join(os.tmpdir(), `aisearch-bench-${short}-`));
  const cleanup = () => rm(root, { recursive: true, force: true });
  try {
    await exportCommit(commit, root);
    const [ours, theirs] = await Promise.all(
      [THIS_TREE, root].map((dir) =>
        readFile(path.join(dir, "package-lock.json"), "utf8").catch(() => ""),
      ),
    );
    if (ours !== "" && ours === theirs && existsSync(path.join(THIS_TREE, "node_modules"))) {
      await symlink(path.join(THIS_TREE, "node_modules"), path.join(root, "node_modules"), "dir");
    } else {
      const modules = await modulesFor(short, root, theirs ?? "");
      await symlink(modules, path.join(root, "node_modules"), "dir");
    }
    return { label: short, root, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * A `node_modules` installed from `root`'s package-lock.json, kept in the temp folder by the
 * lock's hash, so later runs comparing against a commit with the same lock skip `npm ci`.
 */
async function modulesFor(short: string, root: string, lock: string): Promise<string> {
  const hash = createHash("sha256").update(lock).digest("hex").slice(0, 16);
  const kept = path.join(os.tmpdir(), `aisearch-bench-modules-${hash}`);
  if (existsSync(path.join(kept, "node_modules"))) return path.join(kept, "node_modules");
  console.log(`${short}: its package-lock.json differs from this tree's; running npm ci once`);
  await run("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], {
    cwd: root,
    timeout: 15 * 60_000,
  });
  // Installed in the tree, then moved: `npm ci` wants the package files beside node_modules.
  const staging = await mkdtemp(`${kept}-`);
  await rename(path.join(root, "node_modules"), path.join(staging, "node_modules"));
  await rename(staging, kept).catch(async () => {
    // Another run kept the same install meanwhile: use that one.
    await rm(staging, { recursive: true, force: true });
  });
  return path.join(kept, "node_modules");
}

/** The trees of `--baseline-ref=a,b,…`, one after another (each may run `npm ci`). */
export async function treesAt(refs: string | undefined): Promise<Tree[]> {
  const trees: Tree[] = [];
  try {
    for (const ref of (refs ?? "")
      .split(",")
      .map((r) => r.trim())
      .filter(Boolean)) {
      trees.push(await treeAt(ref));
    }
    return trees;
  } catch (error) {
    await Promise.all(trees.map((tree) => tree.cleanup()));
    throw error;
  }
}

/** `git archive <commit> | tar -x -C <dir>`, without a shell. */
function exportCommit(commit: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const archive = spawn("git", ["-C", THIS_TREE, "archive", "--format=tar", commit], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const tar = spawn("tar", ["-x", "-C", dir], { stdio: ["pipe", "ignore", "inherit"] });
    archive.stdout.pipe(tar.stdin);
    let pending = 2;
    const done = (what: string) => (code: number | null) => {
      if (code !== 0) reject(new Error(`${what} exited with ${code} exporting ${commit}`));
      else if (--pending === 0) resolve();
    };
    archive.on("error", reject).on("exit", done("git archive"));
    tar.on("error", reject).on("exit", done("tar"));
  });
}
