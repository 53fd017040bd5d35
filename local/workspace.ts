// Workspaces for local steps: a clean checkout of the run's commit plus the artifacts of earlier steps.
// The commit is, by default, the working tree as it stands — uncommitted and untracked files included —
// recorded as a real git commit so steps can still run git commands.

import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import picomatch from 'picomatch';
import type { StepSpec } from '../statemachine/compiler/plan';
import type { RunPaths } from './paths';

const run = promisify(execFile);

async function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run('git', args, {
    cwd,
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

export interface Snapshot {
  /** The commit the run builds: HEAD, or a snapshot commit of the dirty working tree. */
  readonly commit: string;
  /** The checked-out branch, if any. */
  readonly branch?: string;
}

/**
 * Records the working tree as a commit without touching the user's index, HEAD or stash: a copy of
 * the index (keeping git's stat cache, so only changed files are hashed) takes `add -A`.
 */
export async function snapshotWorkingTree(root: string, source: string): Promise<Snapshot> {
  let head: string | undefined;
  try {
    head = await git(root, ['rev-parse', '--verify', '-q', 'HEAD']);
  } catch {
    head = undefined;
  }
  const gitDir = await git(root, ['rev-parse', '--absolute-git-dir']);
  const index = join(
    tmpdir(),
    `finale-index-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  );
  try {
    // A repository with nothing staged yet has no index: git then starts from an empty one.
    await copyFile(join(gitDir, 'index'), index).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    const env = { GIT_INDEX_FILE: index };
    // .finale/ ignores itself (its own .gitignore); an exclude pathspec would fail where it is also
    // ignored by the repository's .gitignore.
    await git(root, ['add', '-A'], env);
    const tree = await git(root, ['write-tree'], env);
    const headTree = head ? await git(root, ['rev-parse', `${head}^{tree}`]) : undefined;
    const commit =
      head && tree === headTree
        ? head
        : await git(
            root,
            ['commit-tree', tree, ...(head ? ['-p', head] : []), '-m', 'finale: working tree snapshot'],
            {
              GIT_AUTHOR_NAME: 'Finale',
              GIT_AUTHOR_EMAIL: 'finale@localhost',
              GIT_COMMITTER_NAME: 'Finale',
              GIT_COMMITTER_EMAIL: 'finale@localhost',
            },
          );
    const branch = await git(root, ['symbolic-ref', '--short', '-q', 'HEAD']).catch(() => '');
    // A shared clone borrows the repository's objects: fast, and the snapshot commit is reachable.
    await git(root, ['clone', '--quiet', '--shared', '--no-checkout', root, source]);
    await git(source, ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--detach', commit]);
    return { commit, ...(branch ? { branch } : {}) };
  } finally {
    await rm(index, { force: true });
  }
}

/**
 * Copies a directory tree, files in parallel with copyFile (copy_file_range, modes kept), symlinks as
 * links. Several times faster than fs.cp, and no child process: forking the engine is not cheap.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const entries = await readdir(from, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      const source = join(from, entry.name);
      const target = join(to, entry.name);
      if (entry.isDirectory()) await copyTree(source, target);
      else if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
      else await copyFile(source, target);
    }),
  );
}

/** The step's workspace: a copy of the run's checkout (or an empty directory with clone disabled). */
export async function prepareWorkspace(
  paths: RunPaths,
  spec: StepSpec,
  earlier: readonly StepSpec[],
): Promise<string> {
  const workspace = paths.workspace(spec.index);
  await rm(workspace, { recursive: true, force: true });
  if (spec.clone.enabled) await copyTree(paths.source, workspace);
  else await mkdir(workspace, { recursive: true });
  if (spec.artifacts.download !== false) {
    for (const step of earlier) {
      const stored = paths.artifacts(step.index);
      await copyTree(stored, workspace).catch((error) => {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      });
    }
  }
  return workspace;
}

async function* files(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === '.git') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

/** Copies the files matching the step's artifact globs out of its workspace; returns how many. */
export async function collectArtifacts(paths: RunPaths, spec: StepSpec, workspace: string): Promise<number> {
  if (spec.artifacts.paths.length === 0) return 0;
  const matches = picomatch([...spec.artifacts.paths], { dot: true });
  const target = paths.artifacts(spec.index);
  let count = 0;
  for await (const file of files(workspace)) {
    const path = relative(workspace, file);
    if (!matches(path)) continue;
    await mkdir(dirname(join(target, path)), { recursive: true });
    await copyFile(file, join(target, path));
    count++;
  }
  return count;
}
