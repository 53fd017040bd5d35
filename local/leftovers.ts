// Cleaning up after an engine that died (kill -9): its step supervisors and scripts run on in their
// own process groups. They are killed only if /proc shows they really are that step's processes,
// so a recycled pid never takes an innocent process down.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../store/records';
import { SUPERVISOR_ENV, SUPERVISOR_FILES } from '../supervisor/contract';
import type { FinalePaths } from './paths';

async function belongsTo(pid: number, dir: string): Promise<boolean> {
  const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
  return environ.split('\0').includes(`${SUPERVISOR_ENV.dir}=${dir}`);
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Kills the supervisor and script process groups of every step of `run` that had a local task. */
export async function killLeftovers(run: RunRecord, paths: FinalePaths): Promise<number> {
  let killed = 0;
  for (const step of Object.values(run.steps)) {
    const pid = Number(step.taskId?.startsWith('local:') ? step.taskId.slice('local:'.length) : Number.NaN);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    const dir = paths.run(run.runId).control(step.index);
    const pgid = Number(
      (await readFile(join(dir, SUPERVISOR_FILES.scriptPgid), 'utf8').catch(() => '')).trim(),
    );
    if (Number.isInteger(pgid) && pgid > 1 && (await belongsTo(pgid, dir))) {
      killGroup(pgid);
      killed++;
    }
    if (await belongsTo(pid, dir)) {
      killGroup(pid);
      killed++;
    }
  }
  return killed;
}
