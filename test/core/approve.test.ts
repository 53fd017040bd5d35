import { beforeEach, describe, expect, it } from 'vitest';
import { approveRun, refuseRun } from '../../core/approve';
import { dispatchControl } from '../../core/control';
import type { ControlRequest } from '../../vocabulary/contract';
import type { FinaleError } from '../../vocabulary/errors';
import { alice, bob, planOf, useCoreHarness } from './fixtures';

const h = useCoreHarness();
beforeEach(() => h.reset());

const control = <R extends ControlRequest>(request: R) => dispatchControl(request, h.deps);
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: FinaleError) => e,
  );

async function paused(token = 'gate') {
  const run = await h.newRun(
    planOf([{ name: 'Build' }, { name: 'Deploy', trigger: 'manual' }, { name: 'Cleanup', kind: 'final' }]),
  );
  await control({ action: 'startRun', runId: run.runId });
  await control({ action: 'awaitApproval', runId: run.runId, step: 1, taskToken: token });
  return run;
}

describe('approve and refuse', () => {
  it('approves: RUNNING again, the token resumed, audited; the step can begin', async () => {
    const run = await paused();
    h.clock.advance(50);
    const result = await approveRun({ runId: run.runId, caller: bob }, h.deps);
    expect(result.step).toBe(1);
    expect(result.run).toMatchObject({ status: 'RUNNING' });
    expect(result.run.waiting).toBeUndefined();
    expect(result.run.steps['1']?.status).toBe('PENDING');
    expect(h.orchestrator.successes()).toMatchObject([{ token: 'gate', output: { approvedBy: 'bob' } }]);
    const [entry] = await h.db.store.audit.list(run.repository, { limit: 1 });
    expect(entry).toMatchObject({
      action: 'approve',
      by: 'bob',
      runId: run.runId,
      at: h.clock.now(),
      detail: { step: 1, stepName: 'Deploy' },
    });
    expect(await control({ action: 'beginStep', runId: run.runId, step: 1 })).toEqual({
      step: 1,
      attempt: 1,
    });
  });

  it('refuses: the wait fails with Approval.Refused, and the run ends STOPPED after its final step', async () => {
    const run = await paused();
    h.clock.advance(50);
    await refuseRun({ runId: run.runId, caller: alice, reason: 'not today' }, h.deps);
    expect(h.orchestrator.failures()).toMatchObject([
      { token: 'gate', error: 'Approval.Refused', cause: 'Refused by alice: not today' },
    ]);
    expect((await h.db.store.runs.get(run.runId))?.steps['1']?.status).toBe('NOT_RUN');
    const [entry] = await h.db.store.audit.list(run.repository, { limit: 1 });
    expect(entry).toMatchObject({ action: 'refuse', by: 'alice', detail: { step: 1, reason: 'not today' } });
    await control({
      action: 'enterFinal',
      runId: run.runId,
      input: { error: { Error: 'Approval.Refused' } },
    });
    expect(await control({ action: 'finishRun', runId: run.runId })).toEqual({
      status: 'STOPPED',
      error: 'Pipeline.Stopped',
    });
    expect((await h.db.store.runs.get(run.runId))?.reason).toBe('approvalRefused');
  });

  it('says so when nothing waits for an approval (exit 4)', async () => {
    const run = await paused();
    await approveRun({ runId: run.runId, caller: bob }, h.deps);
    const twice = await rejection(approveRun({ runId: run.runId, caller: bob }, h.deps));
    expect(twice).toMatchObject({ exitCode: 4 });
    expect(twice?.message).toContain('is RUNNING, not waiting for an approval');
    expect(await rejection(refuseRun({ runId: 'nope', caller: bob }, h.deps))).toMatchObject({ exitCode: 4 });
    expect(h.orchestrator.calls).toHaveLength(1);
  });

  it('accepts exactly one of two concurrent decisions', async () => {
    const run = await paused();
    const results = await Promise.allSettled([
      approveRun({ runId: run.runId, caller: alice }, h.deps),
      refuseRun({ runId: run.runId, caller: bob }, h.deps),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(h.orchestrator.calls).toHaveLength(1);
  });

  it('restores the wait when the approval token turned out to be gone', async () => {
    const run = await paused('old');
    h.orchestrator.expire('old');
    const error = await rejection(approveRun({ runId: run.runId, caller: bob }, h.deps));
    expect(error).toMatchObject({ exitCode: 4 });
    expect(error?.message).toContain('no longer open');
    expect(await h.db.store.runs.get(run.runId)).toMatchObject({
      status: 'PAUSED',
      waiting: { taskToken: 'old', step: 1 },
    });
    // The wait state's retry parks a fresh token; approving then works.
    await control({ action: 'awaitApproval', runId: run.runId, step: 1, taskToken: 'new' });
    await approveRun({ runId: run.runId, caller: bob }, h.deps);
    expect(h.orchestrator.successes('new')).toHaveLength(1);
  });

  it('does not take a refusal the execution never got: the wait stays, and the caller hears it', async () => {
    const run = await paused('old');
    h.orchestrator.expire('old');
    const error = await rejection(refuseRun({ runId: run.runId, caller: bob }, h.deps));
    expect(error).toMatchObject({ exitCode: 4 });
    expect(error?.message).toContain('no longer open');
    const after = await h.db.store.runs.get(run.runId);
    expect(after).toMatchObject({ status: 'PAUSED', waiting: { taskToken: 'old', step: 1 } });
    expect(after?.steps['1']?.status).toBe('WAITING');
    // Else the run would end STOPPED for a refusal that was never taken.
    expect(after?.steps['1']?.refusedBy).toBeUndefined();
  });
});
