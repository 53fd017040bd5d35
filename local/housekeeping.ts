// Keeps `.finale/` from growing without bound. A finished run's checkout and step workspaces go at
// once; its logs, history, artifacts and control files stay for the newest `keepRuns` finished runs
// and go after that (the run records stay in the store: `finale runs` and `show` still list them).
// A run folder without a record (a server died while starting the run) goes after an hour.

import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Core } from '../core/index';
import type { RunRecord } from '../store/records';
import type { FinalePaths } from './paths';

/** The default number of finished runs whose files are kept; FINALE_KEEP_RUNS overrides it. */
const KEEP_RUNS = 20;
const STALE_START_MS = 3600_000;

function keepRunsSetting(environment: NodeJS.ProcessEnv = process.env): number {
  const value = Number(environment.FINALE_KEEP_RUNS);
  return Number.isInteger(value) && value >= 0 ? value : KEEP_RUNS;
}

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}

export async function sweepHome(
  paths: FinalePaths,
  core: Pick<Core, 'getRun'>,
  repository: string,
  keepRuns = keepRunsSetting(),
): Promise<void> {
  const runsDir = join(paths.home, 'runs');
  const finished: RunRecord[] = [];
  for (const runId of await entries(runsDir)) {
    const run = await core.getRun(runId);
    if (!run) {
      // A directory without a record: a start in progress (which may remove it meanwhile), or one
      // whose server died before the record was written.
      const found = await stat(join(runsDir, runId)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (found && Date.now() - found.mtimeMs > STALE_START_MS)
        await rm(join(runsDir, runId), { recursive: true, force: true });
      continue;
    }
    if (run.phase !== 'done' || run.repository !== repository) continue;
    finished.push(run);
    const own = paths.run(runId);
    await rm(own.source, { recursive: true, force: true });
    await rm(join(own.dir, 'workspaces'), { recursive: true, force: true });
  }
  finished.sort((a, b) => b.buildNumber - a.buildNumber);
  for (const run of finished.slice(keepRuns)) {
    await rm(paths.run(run.runId).dir, { recursive: true, force: true });
  }
}
