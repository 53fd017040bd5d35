// Shared vocabulary of the core: statuses, reasons, error names, the control actions the compiled
// state machine invokes, and the ports behind which AWS and the embedded engine differ.

export const RUN_STATUSES = [
  'PENDING',
  'RUNNING',
  'PAUSED',
  'STOPPING',
  'DRAINING',
  'SUCCESSFUL',
  'FAILED',
  'STOPPED',
  'ERROR',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['SUCCESSFUL', 'FAILED', 'STOPPED', 'ERROR'];

export const STEP_STATUSES = [
  'PENDING',
  /** Waiting for an approval or a lock. */
  'WAITING',
  'RUNNING',
  'SUCCESSFUL',
  'FAILED',
  'STOPPED',
  'TIMED_OUT',
  /** Excluded by a changeset condition. */
  'SKIPPED',
  /** The run ended (failure, stop) before the step started. */
  'NOT_RUN',
  'ERROR',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** The step has ended: it will not run (again) in this attempt, and its log is complete. */
export function stepHasEnded(status: StepStatus): boolean {
  return status !== 'PENDING' && status !== 'WAITING' && status !== 'RUNNING';
}

/** Why a run ended the way it did: stored in history, shown by `finale show`. */
export const RUN_REASONS = {
  succeeded: 'All steps succeeded',
  stepFailed: 'A step failed',
  timedOut: 'A step exceeded its max-time',
  stopped: 'Stopped',
  drained: 'Stopped after the running step finished',
  approvalRefused: 'A manual step was not approved',
  finalFailed: 'The final step failed',
  orphaned: 'The engine running it went away',
  aborted: 'The execution was aborted outside Finale',
  internal: 'Finale failed',
} as const;
export type RunReason = keyof typeof RUN_REASONS;

export type StopMode = 'graceful' | 'drain' | 'immediate';
export type StopPolicy = 'anyone' | 'admins' | 'nobody';

/** Error names thrown by control actions and matched by the definition's Catch/Retry and Fail states. */
export const ERROR_NAMES = {
  /** beginStep found the run no longer RUNNING (stopping, draining): route to the final step. */
  runNotRunning: 'Run.NotRunning',
  stepFailed: 'Step.Failed',
  stepStopped: 'Step.Stopped',
  stepTimedOut: 'Step.TimedOut',
  /** completeStep: the step failed and on-fail retry allows another attempt. */
  stepRetry: 'Step.Retry',
  /**
   * beginStep of a final step that has run already (its result is recorded, or its task ended while no
   * engine watched): the definition goes on to Finish run without running it again.
   */
  finalAlreadyRan: 'Final.AlreadyRan',
  /** beginStep of a final step whose task from an earlier engine still runs: retried until it ends. */
  finalStillRunning: 'Final.StillRunning',
  /** SendTaskFailure to a run waiting on an approval or a lock when it is stopped. */
  pipelineStopped: 'Pipeline.Stopped',
  approvalRefused: 'Approval.Refused',
  /** The Fail states at the end of a run. */
  pipelineFailed: 'Pipeline.Failed',
  pipelineTimedOut: 'Pipeline.TimedOut',
  pipelineError: 'Pipeline.Error',
} as const;

/** Fail-state error per terminal status (SUCCESSFUL ends in a Succeed state). */
export const FAIL_ERROR_OF: Record<Exclude<RunStatus, 'SUCCESSFUL'>, string> = {
  PENDING: ERROR_NAMES.pipelineError,
  RUNNING: ERROR_NAMES.pipelineError,
  PAUSED: ERROR_NAMES.pipelineError,
  STOPPING: ERROR_NAMES.pipelineStopped,
  DRAINING: ERROR_NAMES.pipelineStopped,
  FAILED: ERROR_NAMES.pipelineFailed,
  STOPPED: ERROR_NAMES.pipelineStopped,
  ERROR: ERROR_NAMES.pipelineError,
};

/** What a Catch hands on: Step Functions' error object. */
export interface CaughtError {
  readonly Error: string;
  readonly Cause?: string;
}

/**
 * The control actions. The compiled definition invokes them through the control Lambda on AWS
 * (`lambda:invoke`, Payload = the request) and through the same dispatch function locally.
 */
export type ControlRequest =
  /** First state of a run: PENDING → RUNNING, records the start. */
  | { readonly action: 'startRun'; readonly runId: string }
  /** Before a step's task: requires the run to be RUNNING (throws Run.NotRunning), marks the step RUNNING. */
  | { readonly action: 'beginStep'; readonly runId: string; readonly step: number }
  /**
   * After a step's task, on success and on failure alike (`result`: how the task ended, read by the
   * adapter from what the engine's task integration returned). Decides the outcome in one place,
   * records it, releases `release` locks on success, and
   * throws Step.Failed/Stopped/TimedOut/Retry for every step that did not succeed (inside a parallel
   * group its branch then ends as "Not completed" while the others finish; with fail-fast it stops
   * them first). A final step's result never throws: the final path goes on to Finish run.
   */
  | {
      readonly action: 'completeStep';
      readonly runId: string;
      readonly step: number;
      readonly result: StepTaskResult;
      readonly release?: readonly string[];
      readonly parallel?: { readonly failFast: boolean; readonly steps: readonly number[] };
    }
  /** A manual step's gate (waitForTaskToken): parks the token on the run; approve/stop complete it. */
  | {
      readonly action: 'awaitApproval';
      readonly runId: string;
      readonly step: number;
      readonly taskToken: string;
    }
  /** Acquire a lock or queue for it (waitForTaskToken); the releaser hands over and resumes the waiter. */
  | {
      readonly action: 'acquireLock';
      readonly runId: string;
      readonly step: number;
      readonly lock: string;
      readonly leaseSeconds: number;
      readonly taskToken: string;
    }
  /**
   * Entering the final path: fixes the pipeline outcome so far and moves the run to phase "final".
   * `input` is the whole state input (`$`): it holds `error` (a CaughtError) when a Catch led here, and
   * no `error` on the success path — a JSONPath to a missing field would fail the state, so the
   * definition passes `$` and the core looks inside.
   */
  | {
      readonly action: 'enterFinal';
      readonly runId: string;
      readonly input?: { readonly error?: CaughtError };
    }
  /** Last state: releases every lock the run still holds, records the end, returns the status. */
  | { readonly action: 'finishRun'; readonly runId: string };

/**
 * What the compiled definition sends: the control request, with a step's task as the engine's RunTask
 * integration gave it (its output, or the error a Catch caught). The adapter that receives it reads
 * the task into a StepTaskResult (aws/ecs-task.ts), so the core never sees a platform's shapes.
 */
export type ControlPayload =
  | Exclude<ControlRequest, { readonly action: 'completeStep' }>
  | (Omit<Extract<ControlRequest, { readonly action: 'completeStep' }>, 'result'> & {
      readonly task: unknown;
    });

/** How a step's task ended, as the engine that ran it tells: ECS, or a local process. */
export interface TaskEnded {
  /** The essential container's exit code (the supervisor's, SUPERVISOR_EXIT), when it reported one. */
  readonly exitCode?: number;
  /**
   * Why the task stopped when it did not end by itself: a stop request (Finale's), the platform
   * (capacity reclaimed, a host drained), or it never started.
   */
  readonly stoppedBy?: 'request' | 'platform' | 'failedToStart';
  /** The platform's own words, kept in the step record for people (ECS's stop code and reason). */
  readonly stopCode?: string;
  readonly stoppedReason?: string;
}

/** What became of a step's task state: the task ended, or the state failed without a task's end. */
export type StepTaskResult =
  | { readonly kind: 'ended'; readonly task: TaskEnded }
  /** The state's own timeout (States.Timeout) ended it. */
  | { readonly kind: 'timedOut' }
  /** beginStep refused (Run.NotRunning): the run stopped before the step began. */
  | { readonly kind: 'notRunning' }
  /** The task could not run at all: the integration's error. */
  | { readonly kind: 'error'; readonly error: string; readonly cause?: string };

export interface CompleteStepResult {
  readonly ok: boolean;
  readonly status: StepStatus;
}
export interface EnterFinalResult {
  readonly status: RunStatus;
}
export interface FinishRunResult {
  readonly status: RunStatus;
  /**
   * The Fail state's error; '' when status is SUCCESSFUL. Always present: the definition's last
   * choice reads it, and a path that may be missing would fail the execution (States.Runtime).
   */
  readonly error: string;
}

export type AcquireResult =
  | { readonly state: 'held'; readonly fence: number }
  /** 1-based place in the queue. */
  | { readonly state: 'queued'; readonly position: number };

/** What each control action returns (statemachine/verify reads it to know which fields are total). */
export interface ControlResults {
  readonly startRun: { readonly status: RunStatus };
  readonly beginStep: { readonly step: number; readonly attempt: number };
  readonly completeStep: CompleteStepResult;
  /** The state waits on its token either way; `stopped`: the token was failed at once. */
  readonly awaitApproval: { readonly state: 'waiting' | 'stopped' };
  readonly acquireLock: AcquireResult | { readonly state: 'stopped' };
  readonly enterFinal: EnterFinalResult;
  readonly finishRun: FinishRunResult;
}

/** Who is asking, as established by the adapter (IAM principal on AWS, local identity locally). */
export interface Caller {
  readonly user: string;
}

/** Step Functions' task-token API, or the embedded engine's token registry. */
export interface Orchestrator {
  /** 'gone' when the token's execution or state has already ended (TaskTimedOut): skip it. */
  sendTaskSuccess(taskToken: string, output: unknown): Promise<'ok' | 'gone'>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<'ok' | 'gone'>;
}

/** What became of a step's task, as the engine that runs tasks can tell. */
export type TaskInspection =
  | { readonly state: 'running' }
  | {
      readonly state: 'ended';
      readonly task: TaskEnded & { readonly exitCode: number };
      /** The script's own exit code, when the supervisor reported it. */
      readonly scriptExitCode?: number;
    }
  /** Never started, or killed before it could say how it ended. */
  | { readonly state: 'gone' };

/** A step's task: the step, and the task id once it is recorded. */
export interface TaskRef {
  readonly runId: string;
  readonly step: number;
  readonly taskId?: string;
}

/**
 * ECS, or the embedded engine's process runner. A stop is one protocol on both: the task is told to
 * stop, and the step's side (the agent in ECS, the process runner locally) reads from the run's stop
 * record whether it is graceful or immediate (`taskStopMode`); the port carries no mode.
 */
export interface TaskControl {
  /** Stopping a finished task succeeds. */
  stopTask(ref: { readonly runId: string; readonly taskId: string }, reason: string): Promise<void>;
  /**
   * The task of a step that an engine (or an execution) that went away began, and whose end nobody
   * recorded. Asked of final steps only, which must neither run twice nor be lost.
   */
  inspectTask(ref: TaskRef): Promise<TaskInspection>;
  /** Adds a line to the log of a running step's task: what Finale did to it from outside. */
  tell(ref: TaskRef, message: string): Promise<void>;
}

export interface Clock {
  now(): number;
}
