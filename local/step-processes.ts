// A step's processes, found from its control directory (the supervisor's FINALE_DIR) rather than from
// the store: an engine may die after starting a supervisor and before recording its task — or before
// writing its pid. The process runner writes the pids the moment it has them; each is checked against
// /proc before it is signalled, so a recycled pid never takes an innocent process down. What the pid
// files miss, /proc still shows: every process of a step carries FINALE_DIR in its environment.

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseOutputVariables,
  parseSupervisorStatus,
  SUPERVISOR_ENV,
  SUPERVISOR_FILES,
  type SupervisorStatus,
} from '../supervisor/contract';
import type { FinalePaths } from './paths';
import { isAlive } from './processes';

/** Written by the process runner into the control directory: supervisor.sh itself, as this machine's /proc sees it. */
const SUPERVISOR_PID_FILE = 'supervisor.pid';

export async function recordSupervisorPid(dir: string, pid: number): Promise<void> {
  await writeFile(join(dir, SUPERVISOR_PID_FILE), `${pid}\n`);
}

async function pidIn(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** Whether `pid` is a live process of the step whose control directory is `dir` (its environment says so). */
async function belongsTo(pid: number, dir: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
  return environ.split('\0').includes(`${SUPERVISOR_ENV.dir}=${dir}`);
}

/** Every live process of the step, from /proc: they all carry its FINALE_DIR. */
export async function processesOf(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (/^\d+$/.test(entry) && (await belongsTo(Number(entry), dir))) found.push(Number(entry));
  }
  return found;
}

/** The step's supervisor, if it is still alive: from its pid file, else the one /proc shows. */
export async function livingSupervisor(dir: string): Promise<number | undefined> {
  const pid = await pidIn(join(dir, SUPERVISOR_PID_FILE));
  if (pid !== undefined) return (await belongsTo(pid, dir)) ? pid : undefined;
  // The engine died before it wrote the file: the process running supervisor.sh that is not the
  // `unshare` holding its namespace.
  for (const candidate of await processesOf(dir)) {
    const argv = (await readFile(`/proc/${candidate}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.some((arg) => arg.endsWith('/supervisor.sh')) && !argv[0]?.endsWith('unshare')) return candidate;
  }
  return undefined;
}

type StepProcessState =
  | { readonly state: 'running'; readonly pid: number }
  | {
      readonly state: 'ended';
      readonly status: SupervisorStatus;
      readonly outputs: Readonly<Record<string, string>>;
    }
  | { readonly state: 'gone' };

/** What became of a step's supervisor: still running, ended with its status file, or gone without one. */
export async function inspectStep(dir: string): Promise<StepProcessState> {
  const pid = await livingSupervisor(dir);
  if (pid !== undefined) return { state: 'running', pid };
  const status = parseSupervisorStatus(
    await readFile(join(dir, SUPERVISOR_FILES.status), 'utf8').catch(() => null),
  );
  if (!status) return { state: 'gone' };
  const outputs = parseOutputVariables(
    await readFile(join(dir, SUPERVISOR_FILES.outputVariables), 'utf8').catch(() => ''),
  );
  return { state: 'ended', status, outputs };
}

function kill(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGKILLs every process of a step; returns how many targets it hit. The supervisor goes first, so
 * that it cannot react (it would start the after-script once its script's group is gone); when it is
 * contained that alone ends everything, as the kernel kills a namespace whose init is gone.
 */
export async function killStep(dir: string): Promise<number> {
  let killed = 0;
  const supervisor = await livingSupervisor(dir);
  if (supervisor !== undefined && kill(supervisor, 'SIGKILL')) killed++;
  // Then whatever is left: uncontained, the script's groups and whatever left them.
  for (let round = 0; round < 5; round++) {
    const left = await processesOf(dir);
    if (left.length === 0) break;
    for (const pid of left) if (kill(pid, 'SIGKILL')) killed++;
    await sleep(20);
  }
  return killed;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Ends what is left of a step whose engine went away, as a stop would: the supervisor is asked for a
 * graceful stop (its signal, the grace, the after-script) or an immediate one, and given `timeoutMs`
 * to finish; whatever is left then is killed. Resolves with what happened.
 */
export async function endStep(
  dir: string,
  mode: 'graceful' | 'immediate',
  timeoutMs: number,
): Promise<'none' | 'ended' | 'killed'> {
  const pid = await livingSupervisor(dir);
  if (pid === undefined) {
    // Its supervisor is gone; anything it left behind is not.
    await killStep(dir);
    return 'none';
  }
  kill(pid, mode === 'immediate' ? 'SIGUSR1' : 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await livingSupervisor(dir)) === undefined) {
      await killStep(dir);
      return 'ended';
    }
    await sleep(50);
  }
  await killStep(dir);
  return 'killed';
}

/** The control directories of a run's steps, by step index. */
export async function controlDirs(paths: FinalePaths, runId: string): Promise<Map<number, string>> {
  const controls = join(paths.run(runId).dir, 'control');
  const entries = await readdir(controls).catch(() => [] as string[]);
  const dirs = new Map<number, string>();
  for (const entry of entries) {
    const index = /^s(\d+)$/.exec(entry)?.[1];
    if (index !== undefined) dirs.set(Number(index), join(controls, entry));
  }
  return dirs;
}
