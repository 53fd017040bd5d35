// Pure decisions about outcomes: a step's from what its task reported, the pipeline's when the final
// path is entered, and the run's terminal status after the final step. Each is decided here only.

import type { RunRecord, StepRecord } from '../store/records';
import { SUPERVISOR_EXIT } from '../supervisor/contract';
import {
  type CaughtError,
  ERROR_NAMES,
  FAIL_ERROR_OF,
  type RunReason,
  type RunStatus,
  type StepStatus,
  type StepTaskResult,
  type TaskEnded,
} from '../vocabulary/contract';

interface StepDecision {
  readonly status: StepStatus;
  /** The exit code of the task's essential container (the supervisor's), when it reported one. */
  readonly exitCode?: number;
  readonly stopCode?: string;
  /** One sentence for error messages and logs. */
  readonly reason: string;
}

/**
 * The outcome of a step from how its task state ended. A task stopped by a request is judged by its
 * exit code, never by whether the state failed: AWS's treatment of that case is not documented.
 */
export function decideStepOutcome(result: StepTaskResult): StepDecision {
  switch (result.kind) {
    case 'ended':
      return decideFromTask(result.task);
    case 'timedOut':
      return { status: 'TIMED_OUT', reason: 'The step ran past its task timeout' };
    case 'notRunning':
      return { status: 'NOT_RUN', reason: 'The run stopped before the step began' };
    case 'error': {
      const cause = result.cause ? `: ${result.cause.slice(0, 300)}` : '';
      return { status: 'ERROR', reason: `The step's task could not run (${result.error}${cause})` };
    }
  }
}

/** The outcome of a step from its task's essential container exit code and why it stopped. */
export function decideFromTask(task: TaskEnded): StepDecision {
  const { exitCode, stopCode, stoppedBy } = task;
  const known = { ...(exitCode !== undefined ? { exitCode } : {}), ...(stopCode ? { stopCode } : {}) };
  const why = task.stoppedReason ? `: ${task.stoppedReason}` : '';
  if (stoppedBy === 'failedToStart') {
    return { ...known, status: 'ERROR', reason: `The step's task failed to start${why}` };
  }
  switch (exitCode) {
    case SUPERVISOR_EXIT.success:
      return { ...known, status: 'SUCCESSFUL', reason: 'The step succeeded' };
    case SUPERVISOR_EXIT.stopped:
      return { ...known, status: 'STOPPED', reason: 'The step was stopped' };
    case SUPERVISOR_EXIT.timedOut:
      return { ...known, status: 'TIMED_OUT', reason: 'The step ran past its max-time' };
    case SUPERVISOR_EXIT.error:
      return { ...known, status: 'ERROR', reason: 'The step supervisor could not run the step' };
  }
  // Killed after the grace (a signal's exit code), or the stop reached the task before its supervisor
  // said anything: still a stop. A script's own exit code means it ended by itself, before the stop.
  if (stoppedBy === 'request' && (exitCode === undefined || exitCode > 128))
    return { ...known, status: 'STOPPED', reason: `The step was stopped${why}` };
  if (exitCode === undefined)
    return { ...known, status: 'ERROR', reason: `The step's task reported no exit code${why}` };
  if (stoppedBy === 'platform') {
    return {
      ...known,
      status: 'ERROR',
      reason: `The step's task was stopped by the infrastructure (${stopCode ?? 'no stop code'})${why}`,
    };
  }
  return { ...known, status: 'FAILED', reason: `The step failed with exit code ${exitCode}` };
}

interface RunOutcome {
  readonly status: RunStatus;
  readonly reason: RunReason;
}

/**
 * The pipeline's outcome when the final path is entered: from a stop in progress, from the error
 * that led there, or — on the success path and after a parallel group's Choice, which carry no
 * error — from the step records. An outcome already fixed (orphan recovery) is kept.
 */
export function decideRunOutcome(run: RunRecord, error?: CaughtError): RunOutcome {
  if (run.outcome) return run.outcome;
  if (run.status === 'STOPPING') return { status: 'STOPPED', reason: 'stopped' };
  if (run.status === 'DRAINING') return { status: 'STOPPED', reason: 'drained' };
  if (error) {
    switch (error.Error) {
      case ERROR_NAMES.stepTimedOut:
        return { status: 'FAILED', reason: 'timedOut' };
      case ERROR_NAMES.stepFailed:
        return { status: 'FAILED', reason: 'stepFailed' };
      case ERROR_NAMES.stepStopped:
      case ERROR_NAMES.pipelineStopped:
        return { status: 'STOPPED', reason: 'stopped' };
      case ERROR_NAMES.approvalRefused:
        return { status: 'STOPPED', reason: 'approvalRefused' };
      default:
        return { status: 'ERROR', reason: 'internal' };
    }
  }
  const failed = mainSteps(run).filter((step) => !step.ignored);
  if (failed.some((step) => step.status === 'FAILED' || step.status === 'ERROR')) {
    return { status: 'FAILED', reason: 'stepFailed' };
  }
  if (failed.some((step) => step.status === 'TIMED_OUT')) return { status: 'FAILED', reason: 'timedOut' };
  // A refused step in a parallel group: its branch ends, the group's error does not reach here.
  if (failed.some((step) => step.refusedBy)) return { status: 'STOPPED', reason: 'approvalRefused' };
  if (failed.some((step) => step.status === 'STOPPED')) return { status: 'STOPPED', reason: 'stopped' };
  return { status: 'SUCCESSFUL', reason: 'succeeded' };
}

/**
 * The run's terminal status once the final step has run: the pipeline's outcome, except that a
 * failed final step fails a successful run, and a final step stopped (by an admin's immediate stop)
 * makes the run STOPPED unless it already ended in ERROR.
 */
export function decideTerminal(run: RunRecord): RunOutcome {
  const outcome = decideRunOutcome(run);
  const final = Object.values(run.steps).find((step) => step.kind === 'final');
  if (final?.status === 'STOPPED' && outcome.status !== 'ERROR')
    return { status: 'STOPPED', reason: 'stopped' };
  const finalFailed = final && ['FAILED', 'TIMED_OUT', 'ERROR'].includes(final.status);
  if (finalFailed && outcome.status === 'SUCCESSFUL') return { status: 'FAILED', reason: 'finalFailed' };
  return outcome;
}

/** The Fail state's error for a terminal outcome; undefined for success. */
export function failErrorOf(outcome: RunOutcome): string | undefined {
  if (outcome.status === 'SUCCESSFUL') return undefined;
  if (outcome.reason === 'timedOut') return ERROR_NAMES.pipelineTimedOut;
  return FAIL_ERROR_OF[outcome.status];
}

function mainSteps(run: RunRecord): StepRecord[] {
  return Object.values(run.steps).filter((step) => step.kind === 'step');
}
