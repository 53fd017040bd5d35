// Cleaning up after an engine that died (kill -9): its step supervisors and scripts run on in their
// own process groups. They are found on disk, not in the store — the engine may have died before it
// recorded a task — through the pid files in each step's control directory, and killed only if /proc
// shows they really are that step's processes, so a recycled pid never takes an innocent one down.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../store/records';
import { SUPERVISOR_ENV, SUPERVISOR_FILES } from '../supervisor/contract';
import type { FinalePaths } from './paths';

/** Written by the process runner the moment it has started a supervisor. */
export const SUPERVISOR_PID_FILE = 'supervisor.pid';

export async function recordSupervisorPid(dir: string, pid: number): Promise<void> {
  await writeFile(join(dir, SUPERVISOR_PID_FILE), `${pid}\n`);
}

async function belongsTo(pid: number, dir: string): Promise<boolean> {
  const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
  return environ.split('\0').includes(`${SUPERVISOR_ENV.dir}=${dir}`);
}

async function pidIn(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** Kills the script and supervisor process groups of every step of `run`; returns how many groups. */
export async function killLeftovers(run: Pick<RunRecord, 'runId'>, paths: FinalePaths): Promise<number> {
  const controls = join(paths.run(run.runId).dir, 'control');
  const steps = await readdir(controls).catch(() => [] as string[]);
  let killed = 0;
  for (const step of steps) {
    const dir = join(controls, step);
    for (const file of [SUPERVISOR_FILES.scriptPgid, SUPERVISOR_FILES.afterScriptPgid, SUPERVISOR_PID_FILE]) {
      const pgid = await pidIn(join(dir, file));
      if (pgid === undefined || !(await belongsTo(pgid, dir))) continue;
      try {
        process.kill(-pgid, 'SIGKILL');
        killed++;
      } catch {
        // Gone meanwhile.
      }
    }
  }
  return killed;
}
