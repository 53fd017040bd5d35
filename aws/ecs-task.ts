// ECS's shapes of a step's task, read and written here only. The compiled definition runs each step
// with `ecs:runTask.sync`, whose output is a DescribeTasks task (PascalCase), or States.TaskFailed with
// that task as the JSON Cause. Both engines produce it — ECS itself, and the embedded engine's
// stand-in, which answers as runTask.sync does — and the adapters read it into the core's
// StepTaskResult, so the core never sees a container list or a stop code it has to know.

import { TASK_CONTAINERS } from '../statemachine/compiler/plan';
import {
  type CaughtError,
  type ControlPayload,
  type ControlRequest,
  ERROR_NAMES,
  type StepTaskResult,
  type TaskEnded,
} from '../vocabulary/contract';

/** ECS's stop codes (Task.stopCode) that Finale tells apart. */
export const STOP_CODES = {
  /** StopTask: Finale's stop, a state's timeout, an aborted execution. */
  requested: 'UserInitiated',
  /** The essential container exited by itself. */
  exited: 'EssentialContainerExited',
  failedToStart: 'TaskFailedToStart',
} as const;

/** Stop codes meaning the infrastructure, not the script or Finale, ended the task. */
const INFRASTRUCTURE_STOP_CODES = new Set([
  'SpotInterruption',
  'TerminationNotice',
  'ServiceSchedulerInitiated',
]);

/** Why a task stopped, from ECS's stop code. */
export function stoppedByOf(stopCode: string | undefined): TaskEnded['stoppedBy'] {
  if (stopCode === STOP_CODES.requested) return 'request';
  if (stopCode === STOP_CODES.failedToStart) return 'failedToStart';
  if (stopCode && INFRASTRUCTURE_STOP_CODES.has(stopCode)) return 'platform';
  return undefined;
}

/** A TaskEnded from ECS's stop code and the agent container's exit code. */
export function taskEndedOf(end: {
  readonly exitCode?: number;
  readonly stopCode?: string;
  readonly stoppedReason?: string;
}): TaskEnded {
  const stoppedBy = stoppedByOf(end.stopCode);
  return {
    ...(end.exitCode !== undefined ? { exitCode: end.exitCode } : {}),
    ...(stoppedBy ? { stoppedBy } : {}),
    ...(end.stopCode ? { stopCode: end.stopCode } : {}),
    ...(end.stoppedReason ? { stoppedReason: end.stoppedReason } : {}),
  };
}

/** How a step's task state ended, from what runTask.sync gave the definition (its output or the caught error). */
export function stepTaskResultOf(result: unknown): StepTaskResult {
  const caught = asCaughtError(result);
  if (caught) {
    const task = parseTask(caught.Cause);
    if (task) return { kind: 'ended', task };
    if (caught.Error === 'States.Timeout' || caught.Error === 'States.HeartbeatTimeout')
      return { kind: 'timedOut' };
    if (caught.Error === ERROR_NAMES.runNotRunning) return { kind: 'notRunning' };
    return { kind: 'error', error: caught.Error, ...(caught.Cause ? { cause: caught.Cause } : {}) };
  }
  const task = asTask(result);
  if (task) return { kind: 'ended', task };
  return { kind: 'error', error: 'Finale.NoTaskResult', cause: 'The step ended without a task result' };
}

/** The control request the core takes, from the payload the definition sent. */
export function controlRequestOf(payload: ControlPayload): ControlRequest {
  if (payload.action !== 'completeStep') return payload;
  const { task, ...request } = payload;
  return { ...request, result: stepTaskResultOf(task) };
}

/**
 * What runTask.sync answers for a task that ended, for the embedded engine's stand-ins: the task, or
 * (a non-zero essential container) States.TaskFailed with the task as its Cause.
 */
export function runTaskSyncAnswer(
  taskId: string,
  end: { readonly exitCode: number; readonly stop?: { readonly reason: string } },
): unknown {
  const task = {
    TaskArn: taskId,
    LastStatus: 'STOPPED',
    StopCode: end.stop ? STOP_CODES.requested : STOP_CODES.exited,
    StoppedReason: end.stop?.reason ?? 'Essential container in task exited',
    Containers: [
      { Name: TASK_CONTAINERS.agent, ExitCode: end.exitCode },
      { Name: TASK_CONTAINERS.step, ExitCode: end.exitCode },
    ],
  };
  if (end.exitCode === 0) return task;
  const error = new Error(JSON.stringify(task));
  error.name = 'States.TaskFailed';
  throw error;
}

/** The step a RunTask call runs, from the environment its container overrides carry (task-definitions.ts). */
export function stepOfRunTask(parameters: unknown): {
  readonly runId: string;
  readonly step: number;
  readonly planHash: string;
} {
  const overrides = (
    parameters as {
      Overrides?: { ContainerOverrides?: { Environment?: { Name: string; Value: string }[] }[] };
    }
  ).Overrides;
  const environment = Object.fromEntries(
    (overrides?.ContainerOverrides?.flatMap((container) => container.Environment ?? []) ?? []).map(
      ({ Name, Value }) => [Name, Value],
    ),
  );
  return {
    runId: environment.FINALE_RUN_ID ?? '',
    step: Number(environment.FINALE_STEP_INDEX),
    planHash: environment.FINALE_PLAN_HASH ?? '',
  };
}

function asCaughtError(value: unknown): CaughtError | undefined {
  if (!isObject(value) || typeof value.Error !== 'string') return undefined;
  return { Error: value.Error, ...(typeof value.Cause === 'string' ? { Cause: value.Cause } : {}) };
}

function parseTask(cause: string | undefined): TaskEnded | undefined {
  if (!cause) return undefined;
  try {
    return asTask(JSON.parse(cause));
  } catch {
    // Not a task: the caught error's text is all there is, reported as the error's cause.
    return undefined;
  }
}

/** Reads the few fields used from a DescribeTasks task. */
function asTask(value: unknown): TaskEnded | undefined {
  if (!isObject(value)) return undefined;
  const containers = value.Containers;
  const stopCode = value.StopCode;
  if (!Array.isArray(containers) && typeof stopCode !== 'string') return undefined;
  const list = (Array.isArray(containers) ? containers : []).filter(isObject);
  const agent =
    list.find((container) => container.Name === TASK_CONTAINERS.agent) ??
    (list.length === 1 ? list[0] : undefined);
  const exitCode = agent?.ExitCode;
  const stoppedReason = value.StoppedReason;
  return taskEndedOf({
    ...(typeof exitCode === 'number' ? { exitCode } : {}),
    ...(typeof stopCode === 'string' ? { stopCode } : {}),
    ...(typeof stoppedReason === 'string' ? { stoppedReason } : {}),
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
