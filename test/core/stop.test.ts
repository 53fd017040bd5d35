import { beforeEach, describe, expect, it } from 'vitest';
import { dispatchControl } from '../../core/control';
import { createCore } from '../../core/index';
import { stopRun } from '../../core/stop';
import { taskStarted } from '../../core/task-hooks';
import type { ControlRequest, StepTaskResult, TaskEnded } from '../../vocabulary/contract';
import type { FinaleError } from '../../vocabulary/errors';
import { alice, bob, deployLock, planOf, useCoreHarness } from './fixtures';

const h = useCoreHarness();
beforeEach(() => h.reset());

const control = <R extends ControlRequest>(request: R) => dispatchControl(request, h.deps);
/** A step's task that ended with its supervisor's exit code; by default, after a stop reached it. */
const ended = (exitCode: number, stoppedBy: TaskEnded['stoppedBy'] = 'request'): StepTaskResult => ({
  kind: 'ended',
  task: { exitCode, ...(stoppedBy ? { stoppedBy } : {}) },
});
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: FinaleError) => e,
  );

/** A RUNNING run whose first step's task is running as `task-0`. */
async function runningStep(options: { repository?: string } = {}) {
  const run = await h.newRun(
    planOf([{ name: 'Apply' }, { name: 'Notify' }, { name: 'Cleanup', kind: 'final' }]),
    options,
  );
  await control({ action: 'startRun', runId: run.runId });
  await control({ action: 'beginStep', runId: run.runId, step: 0 });
  await taskStarted(run.runId, 0, 'task-0', h.deps);
  return run;
}

describe('stopRun', () => {
  it('stops gracefully: STOPPING, the task signalled, audited; the final step still runs', async () => {
    const run = await runningStep();
    h.clock.advance(100);
    const result = await stopRun({ runId: run.runId, caller: bob, reason: 'wrong branch' }, h.deps);
    expect(result).toMatchObject({ status: 'STOPPING', mode: 'graceful', stoppedTasks: ['task-0'] });
    expect(result.run.stop).toEqual({
      by: 'bob',
      mode: 'graceful',
      reason: 'wrong branch',
      at: h.clock.now(),
    });
    expect(h.tasks.calls).toEqual([
      { taskId: 'task-0', mode: 'graceful', reason: 'Stopped by bob: wrong branch' },
    ]);
    const [entry] = await h.db.store.audit.list(run.repository, { limit: 1 });
    expect(entry).toMatchObject({
      action: 'stop',
      by: 'bob',
      runId: run.runId,
      detail: { mode: 'graceful', requested: 'graceful', reason: 'wrong branch' },
    });

    // The supervisor ends the step (240); the Catch routes to the final path.
    const stepError = await rejection(
      control({ action: 'completeStep', runId: run.runId, step: 0, result: ended(240) }),
    );
    expect(stepError?.name).toBe('Step.Stopped');
    expect(
      await control({ action: 'enterFinal', runId: run.runId, input: { error: { Error: 'Step.Stopped' } } }),
    ).toEqual({
      status: 'STOPPED',
    });
    expect((await h.db.store.runs.get(run.runId))?.steps['1']?.status).toBe('NOT_RUN');
    expect(await control({ action: 'beginStep', runId: run.runId, step: 2 })).toEqual({
      step: 2,
      attempt: 1,
    });
    await taskStarted(run.runId, 2, 'task-final', h.deps);
    expect(h.tasks.calls).toHaveLength(1);
    await control({ action: 'completeStep', runId: run.runId, step: 2, result: ended(0, undefined) });
    expect(await control({ action: 'finishRun', runId: run.runId })).toEqual({
      status: 'STOPPED',
      error: 'Pipeline.Stopped',
    });
    expect(await h.db.store.runs.get(run.runId)).toMatchObject({
      status: 'STOPPED',
      reason: 'stopped',
      phase: 'done',
    });
  });

  it('drains: the running step finishes, nothing new starts', async () => {
    const run = await runningStep();
    const result = await stopRun({ runId: run.runId, caller: alice, mode: 'drain' }, h.deps);
    expect(result).toMatchObject({ status: 'DRAINING', mode: 'drain', stoppedTasks: [] });
    expect(h.tasks.calls).toEqual([]);
    expect(
      await control({ action: 'completeStep', runId: run.runId, step: 0, result: ended(0, undefined) }),
    ).toEqual({
      ok: true,
      status: 'SUCCESSFUL',
    });
    expect((await rejection(control({ action: 'beginStep', runId: run.runId, step: 1 })))?.name).toBe(
      'Run.NotRunning',
    );
    await control({ action: 'enterFinal', runId: run.runId, input: { error: { Error: 'Run.NotRunning' } } });
    expect(await control({ action: 'finishRun', runId: run.runId })).toEqual({
      status: 'STOPPED',
      error: 'Pipeline.Stopped',
    });
    expect((await h.db.store.runs.get(run.runId))?.reason).toBe('drained');
  });

  it('stops immediately on request, and always when graceful-stop is off', async () => {
    const run = await runningStep();
    expect((await stopRun({ runId: run.runId, caller: alice, mode: 'immediate' }, h.deps)).mode).toBe(
      'immediate',
    );
    expect(h.tasks.calls.map((call) => call.mode)).toEqual(['immediate']);

    const repository = h.repository();
    await h.db.store.settings.update(repository, { gracefulStop: false });
    const other = await runningStep({ repository });
    const result = await stopRun({ runId: other.runId, caller: alice }, h.deps);
    expect(result.mode).toBe('immediate');
    expect(result.run.stop?.mode).toBe('immediate');
    expect(h.tasks.calls.map((call) => call.mode)).toEqual(['immediate', 'immediate']);
  });

  it('fails a waiting approval with Pipeline.Stopped', async () => {
    const run = await h.newRun(planOf([{}, { trigger: 'manual' }, { kind: 'final' }]));
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'awaitApproval', runId: run.runId, step: 1, taskToken: 'approval' });
    const result = await stopRun({ runId: run.runId, caller: alice }, h.deps);
    expect(result.status).toBe('STOPPING');
    expect(h.orchestrator.failures()).toMatchObject([
      { token: 'approval', error: 'Pipeline.Stopped', cause: 'Stopped by alice' },
    ]);
    expect((await h.db.store.runs.get(run.runId))?.waiting).toBeUndefined();
    await control({
      action: 'enterFinal',
      runId: run.runId,
      input: { error: { Error: 'Pipeline.Stopped' } },
    });
    expect((await h.db.store.runs.get(run.runId))?.steps['1']?.status).toBe('NOT_RUN');
  });

  it('lets parallel branches go on while one waits for approval, and a stop fails every wait', async () => {
    const lock = deployLock('prod', [1]);
    const repository = h.repository();
    const plan = planOf(
      [{ trigger: 'manual' }, { locks: [lock.key] }, { name: 'Third' }, { kind: 'final' }],
      [lock],
    );
    const holder = await h.newRun(plan, { repository });
    await control({ action: 'startRun', runId: holder.runId });
    await control({
      action: 'acquireLock',
      runId: holder.runId,
      step: 1,
      lock: lock.key,
      leaseSeconds: 60,
      taskToken: 'held',
    });

    const run = await h.newRun(plan, { repository });
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'awaitApproval', runId: run.runId, step: 0, taskToken: 'approval' });
    expect(await control({ action: 'beginStep', runId: run.runId, step: 2 })).toEqual({
      step: 2,
      attempt: 1,
    });
    expect(
      await control({
        action: 'acquireLock',
        runId: run.runId,
        step: 1,
        lock: lock.key,
        leaseSeconds: 60,
        taskToken: 'queued',
      }),
    ).toEqual({ state: 'queued', position: 1 });
    const paused = await h.db.store.runs.get(run.runId);
    expect(paused).toMatchObject({ status: 'PAUSED', waiting: { kind: 'approval', taskToken: 'approval' } });
    expect(paused?.steps['1']?.status).toBe('WAITING');

    await stopRun({ runId: run.runId, caller: alice }, h.deps);
    expect(h.orchestrator.failures().map((call) => [call.token, call.error])).toEqual([
      ['approval', 'Pipeline.Stopped'],
      ['queued', 'Pipeline.Stopped'],
    ]);
    expect((await h.db.store.locks.get(repository, lock.key))?.waiters).toEqual([]);
  });

  it('refuses unknown and finished runs with exit code 4', async () => {
    expect(await rejection(stopRun({ runId: 'no-such-run', caller: alice }, h.deps))).toMatchObject({
      exitCode: 4,
    });
    const run = await h.newRun(planOf([{}]));
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'enterFinal', runId: run.runId, input: {} });
    await control({ action: 'finishRun', runId: run.runId });
    const error = await rejection(stopRun({ runId: run.runId, caller: alice }, h.deps));
    expect(error).toMatchObject({ exitCode: 4 });
    expect(error?.message).toMatch(/already finished \(SUCCESSFUL\)/);
  });

  it('refuses by policy with exit code 3, naming who may stop, and changes nothing', async () => {
    const repository = h.repository();
    await h.db.store.settings.update(repository, { stopPolicy: 'admins', admins: ['alice'] });
    const run = await runningStep({ repository });
    const error = await rejection(stopRun({ runId: run.runId, caller: bob }, h.deps));
    expect(error).toMatchObject({ name: 'NotAllowed', exitCode: 3 });
    expect(error?.message).toContain('Only admins');
    expect(error?.message).toContain('alice');
    expect((await h.db.store.runs.get(run.runId))?.status).toBe('RUNNING');
    expect(h.tasks.calls).toEqual([]);
    expect((await h.db.store.audit.list(repository)).map((entry) => entry.action)).toEqual(['start']);
    expect((await stopRun({ runId: run.runId, caller: alice }, h.deps)).status).toBe('STOPPING');

    await h.db.store.settings.update(repository, { stopPolicy: 'nobody' });
    const other = await runningStep({ repository });
    expect(
      (await rejection(stopRun({ runId: other.runId, caller: alice, mode: 'immediate' }, h.deps)))?.message,
    ).toContain('Nobody may stop');
  });

  it('refuses a second stop unless it escalates to immediate', async () => {
    const run = await runningStep();
    await stopRun({ runId: run.runId, caller: alice }, h.deps);
    const again = await rejection(stopRun({ runId: run.runId, caller: bob }, h.deps));
    expect(again).toMatchObject({ exitCode: 3 });
    expect(again?.message).toContain('already being stopped (graceful, by alice)');
    const escalated = await stopRun({ runId: run.runId, caller: bob, mode: 'immediate' }, h.deps);
    expect(escalated.run.stop).toMatchObject({ by: 'bob', mode: 'immediate' });
    expect(h.tasks.calls.map((call) => [call.taskId, call.mode])).toEqual([
      ['task-0', 'graceful'],
      ['task-0', 'immediate'],
    ]);
    expect(
      (await rejection(stopRun({ runId: run.runId, caller: alice, mode: 'immediate' }, h.deps)))?.exitCode,
    ).toBe(3);
  });

  it('accepts exactly one of two concurrent stops', async () => {
    const run = await runningStep();
    const results = await Promise.allSettled([
      stopRun({ runId: run.runId, caller: alice }, h.deps),
      stopRun({ runId: run.runId, caller: bob }, h.deps),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((result) => result.status === 'rejected')).toHaveLength(1);
    expect(h.tasks.calls).toHaveLength(1);
  });

  it('during phase final accepts only an admin immediate stop, which ends the final step', async () => {
    const repository = h.repository();
    await h.db.store.settings.update(repository, { admins: ['alice'] });
    const run = await runningStep({ repository });
    await rejection(
      control({
        action: 'completeStep',
        runId: run.runId,
        step: 0,
        result: ended(1, undefined),
      }),
    );
    await control({ action: 'enterFinal', runId: run.runId, input: { error: { Error: 'Step.Failed' } } });
    await control({ action: 'beginStep', runId: run.runId, step: 2 });
    await taskStarted(run.runId, 2, 'task-final', h.deps);

    for (const [caller, mode] of [
      [alice, 'graceful'],
      [bob, 'immediate'],
      [alice, 'drain'],
    ] as const) {
      const error = await rejection(stopRun({ runId: run.runId, caller, mode }, h.deps));
      expect(error).toMatchObject({ exitCode: 3 });
      expect(error?.message).toContain("only an admin's immediate stop");
    }
    expect(h.tasks.calls).toEqual([]);

    const result = await stopRun({ runId: run.runId, caller: alice, mode: 'immediate' }, h.deps);
    expect(result.run.stop).toMatchObject({ by: 'alice', mode: 'immediate', final: true });
    expect(h.tasks.calls).toEqual([{ taskId: 'task-final', mode: 'immediate', reason: 'Stopped by alice' }]);
    await control({ action: 'completeStep', runId: run.runId, step: 2, result: ended(137) });
    expect(await control({ action: 'finishRun', runId: run.runId })).toEqual({
      status: 'STOPPED',
      error: 'Pipeline.Stopped',
    });
  });

  it('is reachable through createCore with the deps bound', async () => {
    const run = await runningStep();
    const core = createCore(h.deps);
    expect((await core.stop({ runId: run.runId, caller: alice, mode: 'immediate' })).status).toBe('STOPPING');
    expect(await core.taskStarted(run.runId, 0, 'again')).toEqual({ stopped: true });
    expect((await core.getSettings(run.repository)).stopPolicy).toBe('anyone');
    expect(await core.control({ action: 'enterFinal', runId: run.runId, input: {} })).toEqual({
      status: 'STOPPED',
    });
  });
});
