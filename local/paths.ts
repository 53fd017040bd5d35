// Where the embedded engine keeps its state: `.finale/` at the repository root, created on first use
// and ignored by git through its own .gitignore, so users never have to edit theirs.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../vocabulary/errors';

export interface FinalePaths {
  /** The repository root (git top level), or the directory itself outside git. */
  readonly root: string;
  readonly home: string;
  /** dynalite's database. */
  readonly db: string;
  /** port, pid, instance of the running local server. */
  readonly serverFile: string;
  /** The per-install secret every API request must carry (mode 0600). */
  readonly tokenFile: string;
  readonly serverLog: string;
  run(runId: string): RunPaths;
}

export interface RunPaths {
  readonly dir: string;
  /** The run's commit checked out once; each step's workspace is a copy of it. */
  readonly source: string;
  readonly history: string;
  log(step: number): string;
  workspace(step: number): string;
  /** The supervisor's FINALE_DIR for a step: status, output variables, script files. */
  control(step: number): string;
  artifacts(step: number): string;
}

/**
 * The git work tree `start` is in. Finale runs the commit a working tree makes and keeps its state
 * beside it (`.finale/`), so outside a work tree there is nothing to run: that is said plainly.
 */
export function repositoryRoot(start: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], {
      cwd: start,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError('finale needs git to run pipelines on this machine, and git is not on PATH');
    }
    throw new UsageError(
      `${resolve(start)} is not inside a git repository: finale runs what a repository's working tree holds, and keeps its state in the repository's .finale/. Run it in your repository (or make one with \`git init\`)`,
    );
  }
}

export function finalePaths(root: string): FinalePaths {
  const home = join(root, '.finale');
  return {
    root,
    home,
    db: join(home, 'db'),
    serverFile: join(home, 'server.json'),
    tokenFile: join(home, 'token'),
    serverLog: join(home, 'server.log'),
    run(runId) {
      const dir = join(home, 'runs', runId);
      return {
        dir,
        source: join(dir, 'source'),
        history: join(dir, 'history.jsonl'),
        log: (step) => join(dir, 'logs', `s${step}.log`),
        workspace: (step) => join(dir, 'workspaces', `s${step}`),
        control: (step) => join(dir, 'control', `s${step}`),
        artifacts: (step) => join(dir, 'artifacts', `s${step}`),
      };
    },
  };
}

/** Creates `.finale/` (and its .gitignore) if needed. */
export function ensureHome(paths: FinalePaths): void {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  writeFileSync(join(paths.home, '.gitignore'), '*\n', { flag: 'w' });
}
