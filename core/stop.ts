// Stopping a run (docs/architecture.md, "Stop"): policy, one conditional status change, then the
// running steps' tasks are stopped and a waiting approval or lock is failed with Pipeline.Stopped.
// The execution itself is never aborted, so the after-scripts and the final step still run.

import { ConditionFailedError } from '../store/errors';
import type { RunRecord } from '../store/records';
import { type Caller, ERROR_NAMES, type RunStatus, type StopMode } from '../vocabulary/contract';
import type { CoreDeps } from './deps';
import { NotAllowedError, RunStateError } from './failures';
import { leaveLockQueue } from './locks';
import { decideStop } from './policy';
import { retryOnConflict } from './retry';
import { requireRun } from './runs';

interface StopRequest {
  readonly runId: string;
  readonly caller: Caller;
  /** @default 'graceful' */
  readonly mode?: StopMode;
  readonly reason?: string;
}

export interface StopResult {
  readonly status: RunStatus;
  /** The mode applied (graceful becomes immediate when graceful-stop is off). */
  readonly mode: StopMode;
  /** Task ids a stop was sent to. */
  readonly stoppedTasks: readonly string[];
  readonly run: RunRecord;
}

/**
 * How a task told to stop stops: the run's stop record decides, on both engines. A task stopped
 * without one (a failed sibling in a fail-fast group, a state's timeout) stops gracefully.
 */
export function taskStopMode(run: Pick<RunRecord, 'stop'> | undefined): 'graceful' | 'immediate' {
  return run?.stop?.mode === 'immediate' ? 'immediate' : 'graceful';
}

/** ECS StopTask accepts a reason of at most 255 characters. */
const MAX_REASON = 255;

export async function stopRun(request: StopRequest, deps: CoreDeps): Promise<StopResult> {
  const { store, clock } = deps;
  const requested = request.mode ?? 'graceful';
  // The policy is decided on the record read; the write is conditioned on that record's version.
  const { run, mode, final } = await retryOnConflict(`Stop run ${request.runId}`, async () => {
    const current = await requireRun(request.runId, deps);
    const settings = await store.settings.get(current.repository);
    const decision = decideStop({ run: current, settings, caller: request.caller, mode: requested });
    if (!decision.ok) {
      if (decision.refusal === 'finished') throw new RunStateError(decision.message);
      throw new NotAllowedError(decision.message);
    }
    const record = {
      by: request.caller.user,
      mode: decision.mode,
      at: clock.now(),
      ...(request.reason ? { reason: request.reason } : {}),
      ...(decision.final ? { final: true } : {}),
    };
    const updated = await store.runs.requestStop(current.runId, {
      status: decision.status,
      record,
      expectedVersion: current.version,
    });
    return { run: updated, mode: decision.mode, final: decision.final };
  });

  const why = `Stopped by ${request.caller.user}${request.reason ? `: ${request.reason}` : ''}`.slice(
    0,
    MAX_REASON,
  );
  const stoppedTasks: string[] = [];
  if (mode !== 'drain') {
    const running = Object.values(run.steps).filter(
      (step) =>
        step.status === 'RUNNING' && step.taskId && (final ? step.kind === 'final' : step.kind === 'step'),
    );
    await Promise.all(
      running.map(async (step) => {
        await deps.tasks.stopTask({ runId: run.runId, taskId: step.taskId! }, why);
        stoppedTasks.push(step.taskId!);
      }),
    );
  }
  // Nothing new starts: fail every wait — the run's approval or lock, and its place in any lock
  // queue of its plan (a parallel branch may queue while another waits for its approval).
  const keys = new Set((await deps.plans.get(run.planHash)).locks.map((lock) => lock.key));
  if (run.waiting?.lock) keys.add(run.waiting.lock);
  const tokens = new Set(run.waiting ? [run.waiting.taskToken] : []);
  for (const key of keys) {
    for (const waiter of await leaveLockQueue({ repository: run.repository, key, runId: run.runId }, deps)) {
      tokens.add(waiter.taskToken);
    }
  }
  for (const token of tokens)
    await deps.orchestrator.sendTaskFailure(token, ERROR_NAMES.pipelineStopped, why);
  if (run.waiting) {
    await store.runs.clearWaiting(run.runId, run.waiting.taskToken).catch((error) => {
      if (!(error instanceof ConditionFailedError)) throw error;
    });
  }
  await store.audit.append({
    repository: run.repository,
    at: clock.now(),
    by: request.caller.user,
    action: 'stop',
    runId: run.runId,
    detail: {
      mode,
      requested,
      buildNumber: run.buildNumber,
      ...(final ? { final } : {}),
      ...(request.reason ? { reason: request.reason } : {}),
    },
  });
  return { status: run.status, mode, stoppedTasks, run };
}
