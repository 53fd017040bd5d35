// The control actions the compiled state machine invokes (vocabulary/contract.ts ControlRequest):
// through the control Lambda on AWS, through the same dispatch function on the embedded engine.

import { ConditionFailedError, RunConflictError } from '../store/errors';
import type { RunRecord, StepRecord } from '../store/records';
import {
  type CaughtError,
  type CompleteStepResult,
  type ControlRequest,
  type ControlResults,
  type EnterFinalResult,
  ERROR_NAMES,
  type FinishRunResult,
  type StepStatus,
} from '../vocabulary/contract';
import { FinaleError } from '../vocabulary/errors';
import type { CoreDeps } from './deps';
import { ControlError, NotFoundError } from './failures';
import { acquireLock as acquire, leaveLockQueue, releaseLock } from './locks';
import { decideFromTask, decideRunOutcome, decideStepOutcome, decideTerminal, failErrorOf } from './outcome';
import { retryOnConflict } from './retry';
import { requireRun } from './runs';

type Handlers = {
  readonly [A in keyof ControlResults]: (
    request: Extract<ControlRequest, { action: A }>,
    deps: CoreDeps,
  ) => Promise<ControlResults[A]>;
};

const handlers: Handlers = {
  startRun,
  beginStep,
  completeStep,
  awaitApproval,
  acquireLock,
  enterFinal,
  finishRun,
};

/** Runs one control action. Errors whose `name` is in ERROR_NAMES are meant for the definition's Catch. */
export async function dispatchControl<R extends ControlRequest>(
  request: R,
  deps: CoreDeps,
): Promise<ControlResults[R['action']]> {
  checkRequest(request);
  const handler = handlers[request.action as keyof ControlResults] as unknown as (
    request: R,
    deps: CoreDeps,
  ) => Promise<ControlResults[R['action']]>;
  return handler(request, deps);
}

/** The payload comes from a state machine definition: a malformed one is a Finale bug, said plainly. */
function checkRequest(request: unknown): asserts request is ControlRequest {
  const fail = (what: string): never => {
    throw new ControlError('Control.InvalidRequest', `Invalid control request: ${what}`);
  };
  if (typeof request !== 'object' || request === null) fail('not an object');
  const r = request as Record<string, unknown>;
  if (typeof r.action !== 'string' || !Object.hasOwn(handlers, r.action))
    fail(`unknown action ${String(r.action)}`);
  if (typeof r.runId !== 'string' || r.runId === '') fail(`${r.action}: runId must be a non-empty string`);
  const needsStep = ['beginStep', 'completeStep', 'awaitApproval', 'acquireLock'].includes(
    r.action as string,
  );
  if (needsStep && !(Number.isInteger(r.step) && (r.step as number) >= 0))
    fail(`${r.action}: step must be an index`);
  if ((r.action === 'awaitApproval' || r.action === 'acquireLock') && typeof r.taskToken !== 'string') {
    fail(`${r.action}: taskToken must be a string`);
  }
  if (r.action === 'acquireLock') {
    if (typeof r.lock !== 'string' || r.lock === '') fail('acquireLock: lock must be a lock key');
    if (!(typeof r.leaseSeconds === 'number' && r.leaseSeconds > 0))
      fail('acquireLock: leaseSeconds must be positive');
  }
}

async function startRun(request: { runId: string }, deps: CoreDeps): Promise<ControlResults['startRun']> {
  try {
    const run = await deps.store.runs.start(request.runId, deps.clock.now());
    return { status: run.status };
  } catch (error) {
    if (!(error instanceof RunConflictError)) throw error;
    const current = error.current;
    if (!current) throw new NotFoundError(`No run with id ${request.runId}`);
    // A retried invocation, or a run stopped before it started: the first Begin decides.
    if (current.phase !== 'done') return { status: current.status };
    throw new ControlError(
      ERROR_NAMES.runNotRunning,
      `Run ${request.runId} has already finished (${current.status})`,
    );
  }
}

async function beginStep(
  request: { runId: string; step: number },
  deps: CoreDeps,
): Promise<ControlResults['beginStep']> {
  try {
    const updated = await deps.store.runs.beginStep(request.runId, request.step, { at: deps.clock.now() });
    return { step: request.step, attempt: stepOf(updated, request.step).attempts };
  } catch (error) {
    if (!(error instanceof RunConflictError)) throw error;
    const current = error.current;
    if (!current) throw new NotFoundError(`No run with id ${request.runId}`);
    const record = stepOf(current, request.step);
    if (record.kind === 'final') return beginFinalAgain(current, record, deps);
    const why =
      current.status === 'RUNNING'
        ? `step "${record.name}" is ${record.status}`
        : `the run is ${current.status}`;
    throw new ControlError(
      ERROR_NAMES.runNotRunning,
      `Run #${current.buildNumber}: "${record.name}" does not start: ${why}`,
    );
  }
}

/**
 * The final step was begun before: by an engine that went away, or by an execution that ended
 * outside Finale. It runs exactly once, so: a final step whose result is recorded has run; one whose
 * task still runs is awaited (Final.StillRunning, which the definition retries); one whose task
 * ended while nobody watched has run, and its result is recorded now; only one whose task was killed
 * before it finished (or never started) runs again, as its next attempt. Each case leaves a note.
 */
async function beginFinalAgain(
  run: RunRecord,
  record: StepRecord,
  deps: CoreDeps,
): Promise<ControlResults['beginStep']> {
  const { store, clock } = deps;
  const name = `"${record.name}"`;
  const alreadyRan = (how: string) =>
    new ControlError(ERROR_NAMES.finalAlreadyRan, `${name} has run already (${how}); it does not run again`);
  if (record.status !== 'RUNNING') throw alreadyRan(record.status);

  const seen = await deps.tasks.inspectTask({
    runId: run.runId,
    step: record.index,
    ...(record.taskId ? { taskId: record.taskId } : {}),
  });
  const now = clock.now();
  const ended = seen.state === 'ended' ? decideFromTask(seen.task) : undefined;
  // Stopped without an admin's stop of the final step: killed from outside (an aborted execution).
  const killed = ended?.status === 'STOPPED' && !run.stop?.final;
  if (seen.state === 'running') {
    if (!record.resumed) {
      await store.runs
        .markResumed(run.runId, record.index, {
          at: now,
          text: `${name} was still running when its engine went away; it is awaited, not started again`,
        })
        .catch((error) => {
          if (!(error instanceof ConditionFailedError)) throw error;
        });
    }
    throw new ControlError(ERROR_NAMES.finalStillRunning, `${name} is still running; waiting for it to end`);
  }
  if (seen.state === 'ended' && ended && !killed) {
    const exitCode = seen.scriptExitCode ?? ended.exitCode;
    await store.runs.recordStepResult(run.runId, record.index, {
      status: ended.status,
      endedAt: now,
      ...(exitCode !== undefined ? { exitCode } : {}),
      ...(ended.stopCode ? { stopCode: ended.stopCode } : {}),
    });
    await store.runs.addNote(run.runId, {
      at: now,
      text: `${name} ended (${ended.status}) while no engine watched it; it does not run again`,
    });
    throw alreadyRan(ended.status);
  }
  const attempt = record.attempts + 1;
  try {
    await store.runs.restartStep(run.runId, record.index, {
      at: now,
      attempts: record.attempts,
      note: {
        at: now,
        text: `${name} (attempt ${record.attempts}) ${record.taskId ? 'was killed before it finished' : 'never started: its engine went away first'}; it runs again as attempt ${attempt}`,
      },
    });
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    // Someone else decided first (a retried invocation): whatever they decided stands.
    throw alreadyRan('decided meanwhile');
  }
  return { step: record.index, attempt };
}

const FAILURE_ERROR: Partial<Record<StepStatus, string>> = {
  FAILED: ERROR_NAMES.stepFailed,
  ERROR: ERROR_NAMES.stepFailed,
  TIMED_OUT: ERROR_NAMES.stepTimedOut,
  STOPPED: ERROR_NAMES.stepStopped,
  NOT_RUN: ERROR_NAMES.runNotRunning,
};

async function completeStep(
  request: Extract<ControlRequest, { action: 'completeStep' }>,
  deps: CoreDeps,
): Promise<CompleteStepResult> {
  const { store, clock } = deps;
  const run = await requireRun(request.runId, deps);
  const spec = (await deps.plans.get(run.planHash)).steps[request.step];
  if (!spec) throw new FinaleError(`Run ${run.runId}: the plan has no step ${request.step}`);
  const record = stepOf(run, request.step);
  const decision = decideStepOutcome(request.result);
  const { status } = decision;
  const failedByScript = status === 'FAILED' || status === 'TIMED_OUT' || status === 'ERROR';
  const final = spec.kind === 'final';
  const retry =
    !final &&
    failedByScript &&
    spec.onFail.strategy === 'retry' &&
    record.attempts <= spec.onFail.maxRetryCount &&
    (run.status === 'RUNNING' || run.status === 'PAUSED');
  const ignored = !final && failedByScript && spec.onFail.strategy === 'ignore';
  // The script's own exit code when the runner recorded it; else the task's.
  const exitCode = record.exitCode ?? decision.exitCode;
  const updated = await store.runs.recordStepResult(request.runId, request.step, {
    status,
    endedAt: clock.now(),
    ...(exitCode !== undefined ? { exitCode } : {}),
    ...(decision.stopCode ? { stopCode: decision.stopCode } : {}),
    ...(ignored ? { ignored } : {}),
  });

  if (final) return { ok: status === 'SUCCESSFUL', status };
  if (status === 'SUCCESSFUL' || ignored) {
    // The pipeline goes on past the lock's scope: the next run may deploy.
    for (const key of request.release ?? []) {
      await releaseLock({ repository: run.repository, key, runId: run.runId }, deps);
    }
    return { ok: true, status };
  }
  const name = `"${spec.name}"`;
  if (retry) {
    throw new ControlError(
      ERROR_NAMES.stepRetry,
      `${name} ${decision.reason.replace(/^The step /, '')}; retrying (attempt ${record.attempts + 1} of ${spec.onFail.maxRetryCount + 1})`,
    );
  }
  // In a parallel group the branch's Catch ends it as "Not completed", so the siblings finish.
  if (request.parallel?.failFast && status !== 'NOT_RUN') {
    await stopSiblings(
      updated,
      request.step,
      request.parallel.steps,
      `fail-fast: ${spec.name} ${status}`,
      deps,
    );
  }
  throw new ControlError(FAILURE_ERROR[status] ?? ERROR_NAMES.stepFailed, `${name}: ${decision.reason}`);
}

/** Fail-fast: stop the group's running steps gracefully; the ones not yet begun never start. */
async function stopSiblings(
  run: RunRecord,
  failed: number,
  group: readonly number[],
  reason: string,
  deps: CoreDeps,
) {
  await Promise.all(
    group
      .filter((index) => index !== failed)
      .map(async (index) => {
        const sibling = run.steps[String(index)];
        if (sibling?.status === 'RUNNING' && sibling.taskId) {
          await deps.tasks.stopTask({ runId: run.runId, taskId: sibling.taskId }, reason);
        } else if (sibling?.status === 'PENDING') {
          await deps.store.runs.skipPendingStep(run.runId, index).catch((error) => {
            if (!(error instanceof ConditionFailedError)) throw error;
          });
        }
      }),
  );
}

async function awaitApproval(
  request: Extract<ControlRequest, { action: 'awaitApproval' }>,
  deps: CoreDeps,
): Promise<ControlResults['awaitApproval']> {
  const waiting = {
    kind: 'approval',
    step: request.step,
    taskToken: request.taskToken,
    since: deps.clock.now(),
  } as const;
  try {
    await deps.store.runs.pauseForApproval(request.runId, waiting);
    return { state: 'waiting' };
  } catch (error) {
    if (!(error instanceof RunConflictError)) throw error;
    const current = error.current;
    await deps.orchestrator.sendTaskFailure(
      request.taskToken,
      ERROR_NAMES.pipelineStopped,
      `Run ${request.runId} is ${current?.status ?? 'gone'}: no approval is awaited`,
    );
    return { state: 'stopped' };
  }
}

async function acquireLock(
  request: Extract<ControlRequest, { action: 'acquireLock' }>,
  deps: CoreDeps,
): Promise<ControlResults['acquireLock']> {
  const { store, orchestrator, clock } = deps;
  const { runId, step, lock: key, leaseSeconds, taskToken } = request;
  const stopped = async (status: string) => {
    await orchestrator.sendTaskFailure(
      taskToken,
      ERROR_NAMES.pipelineStopped,
      `Run ${runId} is ${status}: it does not take lock ${key}`,
    );
    return { state: 'stopped' } as const;
  };
  let run: RunRecord;
  try {
    // Recorded before queueing, so a stop that comes now finds the token and fails it.
    run = await store.runs.waitForLock(runId, {
      kind: 'lock',
      step,
      lock: key,
      taskToken,
      since: clock.now(),
    });
  } catch (error) {
    if (!(error instanceof RunConflictError)) throw error;
    const current = error.current;
    if (current?.status !== 'PAUSED') return stopped(current?.status ?? 'gone');
    // A sibling branch waits for its approval: the run's waiting record stays the approval's; a
    // stop finds this token in the lock queue instead.
    try {
      run = await store.runs.markStepWaiting(runId, step);
    } catch (again) {
      if (!(again instanceof RunConflictError)) throw again;
      return stopped(again.current?.status ?? 'gone');
    }
  }
  const result = await acquire(
    { repository: run.repository, key, runId, step, leaseSeconds, taskToken },
    deps,
  );
  if (result.state === 'queued') {
    // A stop between the record above and the queueing has already looked for us in the queue.
    const current = await requireRun(runId, deps);
    if (current.status !== 'RUNNING' && current.status !== 'PAUSED') {
      await leaveLockQueue({ repository: run.repository, key, runId }, deps);
      await store.runs.clearWaiting(runId, taskToken).catch((error) => {
        // The stop that ended the run has cleared the waiting record already.
        if (!(error instanceof RunConflictError)) throw error;
      });
      return stopped(current.status);
    }
  }
  return result;
}

async function enterFinal(
  request: Extract<ControlRequest, { action: 'enterFinal' }>,
  deps: CoreDeps,
): Promise<EnterFinalResult> {
  const error = caughtErrorOf(request.input);
  const run = await retryOnConflict(`Run ${request.runId}: enter the final path`, async () => {
    const current = await requireRun(request.runId, deps);
    if (current.phase !== 'main') return current;
    const notRun = Object.values(current.steps)
      .filter((step) => step.kind === 'step' && (step.status === 'PENDING' || step.status === 'WAITING'))
      .map((step) => step.index);
    return deps.store.runs.enterFinal(request.runId, {
      outcome: decideRunOutcome(current, error),
      notRun,
      expectedVersion: current.version,
    });
  });
  return { status: decideRunOutcome(run).status };
}

/** The state input handed to enterFinal: `{ error }` after a Catch, or the error object itself. */
function caughtErrorOf(input: unknown): CaughtError | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const candidate = (input as { error?: unknown }).error ?? input;
  if (typeof candidate !== 'object' || candidate === null) return undefined;
  const { Error: name, Cause: cause } = candidate as { Error?: unknown; Cause?: unknown };
  if (typeof name !== 'string') return undefined;
  return { Error: name, ...(typeof cause === 'string' ? { Cause: cause } : {}) };
}

async function finishRun(request: { runId: string }, deps: CoreDeps): Promise<FinishRunResult> {
  const run = await requireRun(request.runId, deps);
  if (run.phase !== 'done') {
    const plan = await deps.plans.get(run.planHash);
    // Every lock the run may hold or wait for: its own record, and the plan (in case a write was lost).
    const keys = new Set([...Object.keys(run.locks), ...plan.locks.map((lock) => lock.key)]);
    if (run.waiting?.lock) keys.add(run.waiting.lock);
    for (const key of keys) {
      await leaveLockQueue({ repository: run.repository, key, runId: run.runId }, deps);
      await releaseLock({ repository: run.repository, key, runId: run.runId }, deps);
    }
  }
  const finished = await retryOnConflict(`Run ${request.runId}: finish`, async () => {
    const current = await requireRun(request.runId, deps);
    if (current.phase === 'done') return current;
    const terminal = decideTerminal(current);
    return deps.store.runs.finish(request.runId, {
      ...terminal,
      endedAt: deps.clock.now(),
      expectedVersion: current.version,
    });
  });
  const outcome = { status: finished.status, reason: finished.reason ?? 'internal' };
  return { status: finished.status, error: failErrorOf(outcome) ?? '' };
}

function stepOf(run: RunRecord, step: number): StepRecord {
  const record = run.steps[String(step)];
  if (!record) throw new FinaleError(`Run ${run.runId} has no step ${step}`);
  return record;
}
