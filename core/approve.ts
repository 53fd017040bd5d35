// Approving or refusing a manual step of a paused run. Approve resumes the execution; refuse fails
// the wait with Approval.Refused, which routes to the final step. Both are audited.

import { ConditionFailedError, RunConflictError } from '../store/errors';
import type { RunRecord, WaitingRecord } from '../store/records';
import { type Caller, ERROR_NAMES } from '../vocabulary/contract';
import type { CoreDeps } from './deps';
import { RunStateError } from './failures';
import { requireRun } from './runs';

interface ApprovalRequest {
  readonly runId: string;
  readonly caller: Caller;
  readonly reason?: string;
}

interface ApprovalResult {
  readonly run: RunRecord;
  /** The step that was approved or refused. */
  readonly step: number;
}

export async function approveRun(request: ApprovalRequest, deps: CoreDeps): Promise<ApprovalResult> {
  const { run, waiting } = await pausedRun(request.runId, deps);
  // RUNNING first, then resume: the resumed Begin requires the run to be RUNNING.
  const resumed = await resumeOrExplain(run, waiting, { approved: true }, deps);
  const sent = await deps.orchestrator.sendTaskSuccess(waiting.taskToken, {
    approvedBy: request.caller.user,
  });
  await requireDelivered(sent, run, waiting, resumed, deps);
  await audit('approve', request, resumed, waiting, deps);
  return { run: resumed, step: waiting.step };
}

export async function refuseRun(request: ApprovalRequest, deps: CoreDeps): Promise<ApprovalResult> {
  const { run, waiting } = await pausedRun(request.runId, deps);
  const resumed = await resumeOrExplain(
    run,
    waiting,
    { approved: false, refusedBy: request.caller.user },
    deps,
  );
  const cause = `Refused by ${request.caller.user}${request.reason ? `: ${request.reason}` : ''}`;
  const sent = await deps.orchestrator.sendTaskFailure(waiting.taskToken, ERROR_NAMES.approvalRefused, cause);
  await requireDelivered(sent, run, waiting, resumed, deps);
  await audit('refuse', request, resumed, waiting, deps);
  return { run: resumed, step: waiting.step };
}

/**
 * A decision the execution did not get (its wait state ended: timed out, execution gone) is not
 * taken: the record goes back as it was, and the caller hears it (a refusal once went unheard, and
 * the run later went on as if approved; found by the fault simulation).
 */
async function requireDelivered(
  sent: 'ok' | 'gone',
  run: RunRecord,
  waiting: WaitingRecord,
  resumed: RunRecord,
  deps: CoreDeps,
): Promise<void> {
  if (sent === 'ok') return;
  await deps.store.runs.revertApproval(run.runId, waiting, resumed.version).catch((error) => {
    if (!(error instanceof ConditionFailedError)) throw error;
  });
  throw new RunStateError(
    `Run #${run.buildNumber} of ${run.repository}: the approval request of "${stepName(run, waiting)}" is no longer open; try again`,
  );
}

async function pausedRun(runId: string, deps: CoreDeps): Promise<{ run: RunRecord; waiting: WaitingRecord }> {
  const run = await requireRun(runId, deps);
  if (run.status !== 'PAUSED' || run.waiting?.kind !== 'approval') {
    throw new RunStateError(
      `Run #${run.buildNumber} of ${run.repository} is ${run.status}, not waiting for an approval`,
    );
  }
  return { run, waiting: run.waiting };
}

async function resumeOrExplain(
  run: RunRecord,
  waiting: WaitingRecord,
  decision: Parameters<CoreDeps['store']['runs']['resumeFromApproval']>[2],
  deps: CoreDeps,
): Promise<RunRecord> {
  try {
    return await deps.store.runs.resumeFromApproval(run.runId, waiting, decision);
  } catch (error) {
    if (!(error instanceof RunConflictError)) throw error;
    const current = error.current;
    throw new RunStateError(
      `Run #${run.buildNumber} of ${run.repository} is ${current?.status ?? 'gone'}: its approval was already decided`,
    );
  }
}

function stepName(run: RunRecord, waiting: WaitingRecord): string {
  return run.steps[String(waiting.step)]?.name ?? `step ${waiting.step}`;
}

async function audit(
  action: 'approve' | 'refuse',
  request: ApprovalRequest,
  run: RunRecord,
  waiting: WaitingRecord,
  deps: CoreDeps,
): Promise<void> {
  await deps.store.audit.append({
    repository: run.repository,
    at: deps.clock.now(),
    by: request.caller.user,
    action,
    runId: run.runId,
    detail: {
      step: waiting.step,
      stepName: stepName(run, waiting),
      buildNumber: run.buildNumber,
      ...(request.reason ? { reason: request.reason } : {}),
    },
  });
}
