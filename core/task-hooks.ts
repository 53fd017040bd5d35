// What the process runner (locally) and the ECS event handler (on AWS) report about a step's task.

import { ConditionFailedError } from '../store/errors';
import type { RunRecord } from '../store/records';
import type { CoreDeps } from './deps';
import { NotFoundError } from './failures';
import { requireRun } from './runs';

/**
 * Records the task of a step. A run that is being stopped has its task stopped on sight: a stop that
 * came before the task was known must still win. A final step's task is stopped only by a stop made
 * during phase final (an admin's immediate stop).
 */
export async function taskStarted(
  runId: string,
  step: number,
  taskId: string,
  deps: Pick<CoreDeps, 'store' | 'tasks'>,
): Promise<{ readonly stopped: boolean }> {
  let run: RunRecord;
  try {
    run = await deps.store.runs.recordTaskStarted(runId, step, taskId);
  } catch (error) {
    if (error instanceof ConditionFailedError) throw new NotFoundError(`No step ${step} in run ${runId}`);
    throw error;
  }
  const record = run.steps[String(step)];
  const stop = run.stop;
  if (run.status !== 'STOPPING' || !stop || !record) return { stopped: false };
  if (record.kind === 'final' && !stop.final) return { stopped: false };
  await deps.tasks.stopTask(
    { runId, taskId },
    `Stopped by ${stop.by}${stop.reason ? `: ${stop.reason}` : ''}`.slice(0, 255),
  );
  return { stopped: true };
}

export interface TaskEnd {
  /** The script's exit code, as the supervisor's status file reports it. */
  readonly exitCode?: number;
  readonly stopCode?: string;
  /** Output variables the script wrote; only the names the step declares are kept. */
  readonly outputs?: Readonly<Record<string, string>>;
  /**
   * Which of them hold a secured value the step received (securedOutputNames): they stay secured,
   * sealed in the run record and masked in later steps.
   */
  readonly secured?: readonly string[];
}

export async function taskEnded(
  runId: string,
  step: number,
  end: TaskEnd,
  deps: Pick<CoreDeps, 'store' | 'plans' | 'vault'>,
): Promise<{ readonly outputs: Readonly<Record<string, string>> }> {
  const run = await requireRun(runId, deps);
  const spec = (await deps.plans.get(run.planHash)).steps[step];
  if (!spec) throw new NotFoundError(`No step ${step} in run ${runId}`);
  const declared = new Set(spec.outputVariables);
  const secured = new Set(end.secured ?? []);
  const outputs: Record<string, string> = {};
  const securedOutputs: Record<string, string> = {};
  for (const [name, value] of Object.entries(end.outputs ?? {})) {
    if (!declared.has(name) || typeof value !== 'string') continue;
    if (secured.has(name)) securedOutputs[name] = await deps.vault.seal(value);
    else outputs[name] = value;
  }
  await deps.store.runs.recordTaskEnded(runId, step, {
    ...(end.exitCode !== undefined ? { exitCode: end.exitCode } : {}),
    ...(end.stopCode !== undefined ? { stopCode: end.stopCode } : {}),
    outputs,
    securedOutputs,
  });
  return { outputs };
}
