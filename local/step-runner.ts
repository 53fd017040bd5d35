// What the embedded engine needs of whatever runs its steps: ECS's part (run a step's task, stop it,
// say what became of it, write to its log) and the engine's own (steps' environments, ending what
// an engine that went away left running, letting go when this one stops). The process runner
// (task-runner.ts) is the one users get; the fault simulation brings one of simulated processes.

import { runTaskSyncAnswer, STOP_CODES, taskEndedOf } from '../aws/ecs-task';
import type { Core } from '../core/index';
import type { Plan, StepSpec } from '../statemachine/compiler/plan';
import type { RunRecord } from '../store/records';
import { exitCodeOfStatus, type SupervisorStatus } from '../supervisor/contract';
import type { TaskControl, TaskInspection } from '../vocabulary/contract';
import type { LocalTasks } from './engine';

export interface StepRunner extends LocalTasks, TaskControl {
  /** The core needs the runner (as TaskControl) and the runner the core: wired after both exist. */
  attach(core: Core): void;
  /** Steps of `runId` inherit `environment`; forgotten with forget(). */
  setEnvironment(runId: string, environment: NodeJS.ProcessEnv): void;
  forget(runId: string): void;
  /** What a run started from `environment` should be told about how its steps run. */
  noticesFor(environment?: NodeJS.ProcessEnv): string[];
  /** Ends, as a stop would, the pipeline steps an engine that went away left running; notes each. */
  endLeftovers(run: RunRecord, plan: Plan): Promise<void>;
  /** Lets go of every step it runs, as a dying engine does: nothing more is sent or recorded. */
  detach(): void;
}

/** How a step's supervisor ended, as a runner saw it. */
interface SupervisorEnd {
  /** The supervisor's exit status (SUPERVISOR_EXIT, or the failed script's code). */
  readonly exitCode: number;
  /** The script's own exit code, from the status file, when it differs or is all there is. */
  readonly scriptExitCode: number;
  readonly outputs: Readonly<Record<string, string>>;
  /** Which outputs hold a secured value (they stay secured). */
  readonly secured?: readonly string[];
  /** A stop this engine asked for, with its reason. */
  readonly stop?: { readonly reason: string };
}

/**
 * Reports the end of a step's task as the AWS side does from ECS events — what completeStep cannot
 * read from the task itself (the script's own exit code after a stop or a timeout, output variables)
 * — and answers as runTask.sync does: the ECS-shaped task, or States.TaskFailed with it as the Cause.
 */
export async function reportTaskEnd(
  core: Core,
  run: Pick<RunRecord, 'runId'>,
  spec: Pick<StepSpec, 'index'>,
  taskId: string,
  end: SupervisorEnd,
): Promise<unknown> {
  if (end.scriptExitCode !== end.exitCode || end.stop || Object.keys(end.outputs).length > 0) {
    await core.taskEnded(run.runId, spec.index, {
      exitCode: end.scriptExitCode,
      stopCode: end.stop ? STOP_CODES.requested : STOP_CODES.exited,
      outputs: end.outputs,
      ...(end.secured?.length ? { secured: end.secured } : {}),
    });
  }
  return runTaskSyncAnswer(taskId, end);
}

/** What inspectTask says of a step whose supervisor has ended, from its status file. */
export function endedInspection(status: SupervisorStatus): TaskInspection {
  return {
    state: 'ended',
    task: {
      ...taskEndedOf(status.stop !== 'none' ? { stopCode: STOP_CODES.requested } : {}),
      exitCode: exitCodeOfStatus(status),
    },
    scriptExitCode: status.exitCode,
  };
}
