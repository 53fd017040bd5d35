import { beforeEach, describe, expect, it } from 'vitest';
import { dispatchControl } from '../../core/control';
import { acquireLock } from '../../core/locks';
import { stopRun } from '../../core/stop';
import { taskEnded, taskStarted } from '../../core/task-hooks';
import { compile } from '../../statemachine/compiler';
import { readPipelineFile, selectPipeline } from '../../statemachine/language';
import type { ControlRequest, StepTaskResult, TaskEnded } from '../../vocabulary/contract';
import { FinaleError } from '../../vocabulary/errors';
import { alice, deployLock, planOf, useCoreHarness } from './fixtures';

const h = useCoreHarness();
beforeEach(() => h.reset());

const control = <R extends ControlRequest>(request: R) => dispatchControl(request, h.deps);
/** A step's task that ended with its supervisor's exit code; ECS's stop code is kept for people. */
const ended = (exitCode: number, stoppedBy?: TaskEnded['stoppedBy']): StepTaskResult => ({
  kind: 'ended',
  task: { exitCode, ...(stoppedBy ? { stoppedBy } : {}), stopCode: stoppedBy ?? 'EssentialContainerExited' },
});
/** The error a control action rejects with: its name is what the definition's Catch matches. */
async function errorOf(promise: Promise<unknown>): Promise<FinaleError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof FinaleError)) throw new Error(`expected a FinaleError, got ${String(error)}`);
  return error;
}

describe('createRun', () => {
  it('numbers runs per repository, stores the plan, and starts every step PENDING or SKIPPED', async () => {
    const plan = planOf([
      { name: 'Build' },
      { name: 'Docs', skipped: true },
      { name: 'Clean', kind: 'final' },
    ]);
    const repository = h.repository();
    const first = await h.newRun(plan, { repository });
    h.clock.advance(1);
    const second = await h.newRun(plan, { repository });
    expect([first.buildNumber, second.buildNumber]).toEqual([1, 2]);
    expect(first).toMatchObject({
      status: 'PENDING',
      phase: 'main',
      planHash: plan.hash,
      pipeline: 'branches:main',
      version: 1,
    });
    expect(
      Object.values(first.steps).map((step) => [step.name, step.kind, step.status, step.attempts]),
    ).toEqual([
      ['Build', 'step', 'PENDING', 0],
      ['Docs', 'step', 'SKIPPED', 0],
      ['Clean', 'final', 'PENDING', 0],
    ]);
    expect(await h.db.store.plans.get(plan.hash)).toEqual(plan);
    expect(await h.db.store.runs.get(first.runId)).toEqual(first);
    const audit = await h.db.store.audit.list(repository);
    expect(audit.map((entry) => [entry.action, entry.runId, entry.by])).toEqual([
      ['start', second.runId, 'alice'],
      ['start', first.runId, 'alice'],
    ]);
  });
});

describe('startRun and beginStep', () => {
  it('starts a PENDING run once; a repeated call is harmless', async () => {
    const run = await h.newRun(planOf([{}]));
    h.clock.advance(500);
    expect(await control({ action: 'startRun', runId: run.runId })).toEqual({ status: 'RUNNING' });
    expect(await control({ action: 'startRun', runId: run.runId })).toEqual({ status: 'RUNNING' });
    expect((await h.db.store.runs.get(run.runId))?.startedAt).toBe(h.clock.now());
  });

  it('lets a run stopped before it started reach the final path through its first Begin', async () => {
    const run = await h.newRun(planOf([{}, { kind: 'final' }]));
    await stopRun({ runId: run.runId, caller: alice }, h.deps);
    expect(await control({ action: 'startRun', runId: run.runId })).toEqual({ status: 'STOPPING' });
    const error = await errorOf(control({ action: 'beginStep', runId: run.runId, step: 0 }));
    expect(error.name).toBe('Run.NotRunning');
    expect(error.message).toContain('STOPPING');
  });

  it('marks a step RUNNING with one more attempt; the final step begins whatever the status', async () => {
    const run = await h.newRun(planOf([{ name: 'Build' }, { name: 'Clean', kind: 'final' }]));
    await control({ action: 'startRun', runId: run.runId });
    expect(await control({ action: 'beginStep', runId: run.runId, step: 0 })).toEqual({
      step: 0,
      attempt: 1,
    });
    await stopRun({ runId: run.runId, caller: alice, mode: 'drain' }, h.deps);
    const error = await errorOf(control({ action: 'beginStep', runId: run.runId, step: 0 }));
    expect(error.name).toBe('Run.NotRunning');
    expect(await control({ action: 'beginStep', runId: run.runId, step: 1 })).toEqual({
      step: 1,
      attempt: 1,
    });
    const stored = await h.db.store.runs.get(run.runId);
    expect(stored?.steps['1']).toMatchObject({ status: 'RUNNING', attempts: 1, startedAt: h.clock.now() });
  });

  it('rejects malformed requests with a clear message', async () => {
    const bad = (request: unknown) => errorOf(dispatchControl(request as ControlRequest, h.deps));
    expect((await bad({ action: 'launch', runId: 'x' })).message).toMatch(/unknown action launch/);
    expect((await bad({ action: 'beginStep', runId: 'x' })).message).toMatch(/step must be an index/);
    expect((await bad({ action: 'startRun' })).message).toMatch(/runId/);
    expect(
      (await bad({ action: 'acquireLock', runId: 'x', step: 0, taskToken: 't', lock: 'k' })).message,
    ).toMatch(/leaseSeconds/);
    expect((await bad({ action: 'startRun', runId: 'nope' })).exitCode).toBe(4);
  });
});

describe('beginStep of a final step that was begun before (the engine or execution went away)', () => {
  /** A run whose final step (index 1) began and recorded no end: what an engine that died leaves. */
  async function finalBegun(taskId?: string) {
    const run = await h.newRun(planOf([{ name: 'Build' }, { name: 'Clean', kind: 'final' }]));
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'enterFinal', runId: run.runId, input: {} });
    await control({ action: 'beginStep', runId: run.runId, step: 1 });
    if (taskId) await taskStarted(run.runId, 1, taskId, h.deps);
    return run;
  }
  const notes = async (runId: string) => (await h.db.store.runs.get(runId))?.notes?.map((n) => n.text);

  it('never runs a final step again once its result is recorded', async () => {
    const run = await finalBegun();
    await control({ action: 'completeStep', runId: run.runId, step: 1, result: ended(0) });
    const error = await errorOf(control({ action: 'beginStep', runId: run.runId, step: 1 }));
    expect(error.name).toBe('Final.AlreadyRan');
    expect(error.message).toBe('"Clean" has run already (SUCCESSFUL); it does not run again');
    expect((await h.db.store.runs.get(run.runId))?.steps['1']).toMatchObject({ attempts: 1 });
  });

  it('waits for one whose task still runs, noting it once', async () => {
    const run = await finalBegun('task-final');
    h.tasks.inspections.set(1, { state: 'running' });
    for (let i = 0; i < 3; i++) {
      const error = await errorOf(control({ action: 'beginStep', runId: run.runId, step: 1 }));
      expect(error.name).toBe('Final.StillRunning');
    }
    expect(await notes(run.runId)).toEqual([
      '"Clean" was still running when its engine went away; it is awaited, not started again',
    ]);
    expect((await h.db.store.runs.get(run.runId))?.steps['1']).toMatchObject({
      status: 'RUNNING',
      attempts: 1,
      resumed: true,
    });
  });

  it('records the result of one whose task ended while nobody watched, and does not run it again', async () => {
    const run = await finalBegun('task-final');
    h.tasks.inspections.set(1, { state: 'ended', task: { exitCode: 4 }, scriptExitCode: 4 });
    const error = await errorOf(control({ action: 'beginStep', runId: run.runId, step: 1 }));
    expect(error.name).toBe('Final.AlreadyRan');
    expect((await h.db.store.runs.get(run.runId))?.steps['1']).toMatchObject({
      status: 'FAILED',
      exitCode: 4,
      attempts: 1,
      endedAt: h.clock.now(),
    });
    expect(await notes(run.runId)).toEqual([
      '"Clean" ended (FAILED) while no engine watched it; it does not run again',
    ]);
    expect((await control({ action: 'finishRun', runId: run.runId })).status).toBe('FAILED');
  });

  it.each([
    ['gone (never started, or killed before it could tell)', { state: 'gone' } as const],
    [
      'stopped without an admin asking (its execution was aborted)',
      { state: 'ended', task: { exitCode: 240, stoppedBy: 'request' } } as const,
    ],
  ])('runs one whose task is %s again, as its next attempt', async (_, inspection) => {
    const run = await finalBegun('task-final');
    h.tasks.inspections.set(1, inspection);
    h.clock.advance(1000);
    expect(await control({ action: 'beginStep', runId: run.runId, step: 1 })).toEqual({
      step: 1,
      attempt: 2,
    });
    const step = (await h.db.store.runs.get(run.runId))?.steps['1'];
    expect(step).toMatchObject({ status: 'RUNNING', attempts: 2, startedAt: h.clock.now() });
    expect(step?.taskId).toBeUndefined();
    expect(await notes(run.runId)).toEqual([
      '"Clean" (attempt 1) was killed before it finished; it runs again as attempt 2',
    ]);
  });

  it('keeps the result of a final step an admin stopped: it ran, and was stopped', async () => {
    const run = await finalBegun('task-final');
    await stopRun({ runId: run.runId, caller: { user: 'bob@example.com' }, mode: 'immediate' }, h.deps);
    h.tasks.inspections.set(1, { state: 'ended', task: { exitCode: 240, stoppedBy: 'request' } });
    const error = await errorOf(control({ action: 'beginStep', runId: run.runId, step: 1 }));
    expect(error.name).toBe('Final.AlreadyRan');
    expect((await h.db.store.runs.get(run.runId))?.steps['1']?.status).toBe('STOPPED');
  });
});

describe('completeStep', () => {
  async function running(steps: Parameters<typeof planOf>[0], locks: Parameters<typeof planOf>[1] = []) {
    const plan = planOf(steps, locks);
    const run = await h.newRun(plan);
    await control({ action: 'startRun', runId: run.runId });
    return { plan, run };
  }
  const begin = (runId: string, step: number) => control({ action: 'beginStep', runId, step });
  const complete = (runId: string, step: number, result: StepTaskResult, extra: object = {}) =>
    control({ action: 'completeStep', runId, step, result, ...extra });

  it('records a success with the exit code and end time', async () => {
    const { run } = await running([{}]);
    await begin(run.runId, 0);
    h.clock.advance(1234);
    expect(await complete(run.runId, 0, ended(0))).toEqual({ ok: true, status: 'SUCCESSFUL' });
    expect((await h.db.store.runs.get(run.runId))?.steps['0']).toMatchObject({
      status: 'SUCCESSFUL',
      exitCode: 0,
      stopCode: 'EssentialContainerExited',
      endedAt: h.clock.now(),
    });
  });

  it.each([
    ['a failed script', ended(2), 'FAILED', 'Step.Failed', /exit code 2/],
    ['a max-time timeout', ended(241), 'TIMED_OUT', 'Step.TimedOut', /max-time/],
    ['a stop', ended(240, 'request'), 'STOPPED', 'Step.Stopped', /stopped/],
    ['a task that did not start', ended(1, 'failedToStart'), 'ERROR', 'Step.Failed', /failed to start/],
    ['the state timeout', { kind: 'timedOut' } as const, 'TIMED_OUT', 'Step.TimedOut', /timeout/],
  ])('throws for %s outside a group', async (_name, task, status, errorName, message) => {
    const { run } = await running([{ name: 'Deploy' }]);
    await begin(run.runId, 0);
    const error = await errorOf(complete(run.runId, 0, task));
    expect(error.name).toBe(errorName);
    expect(error.message).toMatch(message);
    expect(error.message).toContain('"Deploy"');
    expect((await h.db.store.runs.get(run.runId))?.steps['0']?.status).toBe(status);
  });

  it('prefers the script exit code the runner recorded over the container exit code', async () => {
    const { run } = await running([{}]);
    await begin(run.runId, 0);
    await taskEnded(run.runId, 0, { exitCode: 17 }, h.deps);
    await errorOf(complete(run.runId, 0, ended(17)));
    expect((await h.db.store.runs.get(run.runId))?.steps['0']?.exitCode).toBe(17);
    await begin(run.runId, 0);
    expect((await h.db.store.runs.get(run.runId))?.steps['0']?.exitCode).toBeUndefined();
  });

  it('retries on-fail retry steps while attempts are left and the run is RUNNING', async () => {
    const { run } = await running([{ onFail: { strategy: 'retry', maxRetryCount: 2 } }]);
    for (const attempt of [1, 2]) {
      await begin(run.runId, 0);
      const error = await errorOf(complete(run.runId, 0, ended(1)));
      expect(error.name).toBe('Step.Retry');
      expect(error.message).toContain(`attempt ${attempt + 1} of 3`);
    }
    expect(await begin(run.runId, 0)).toEqual({ step: 0, attempt: 3 });
    expect((await errorOf(complete(run.runId, 0, ended(1)))).name).toBe('Step.Failed');
  });

  it('does not retry a stopped step, nor a step of a stopping run', async () => {
    const { run } = await running([{ onFail: { strategy: 'retry', maxRetryCount: 3 } }]);
    await begin(run.runId, 0);
    expect((await errorOf(complete(run.runId, 0, ended(240, 'request')))).name).toBe('Step.Stopped');
    const other = await running([{ onFail: { strategy: 'retry', maxRetryCount: 3 } }]);
    await begin(other.run.runId, 0);
    await stopRun({ runId: other.run.runId, caller: alice }, h.deps);
    expect((await errorOf(complete(other.run.runId, 0, ended(1)))).name).toBe('Step.Failed');
  });

  it('lets the pipeline go on past an on-fail ignore step, recording it as ignored', async () => {
    const { run } = await running([{ onFail: { strategy: 'ignore', maxRetryCount: 0 } }]);
    await begin(run.runId, 0);
    expect(await complete(run.runId, 0, ended(9))).toEqual({ ok: true, status: 'FAILED' });
    expect((await h.db.store.runs.get(run.runId))?.steps['0']).toMatchObject({
      status: 'FAILED',
      ignored: true,
      exitCode: 9,
    });
  });

  it('throws in a parallel group too (the branch ends as "Not completed"), and leaves the siblings alone', async () => {
    const { run } = await running([{}, {}]);
    await begin(run.runId, 0);
    await begin(run.runId, 1);
    await taskStarted(run.runId, 1, 'task-1', h.deps);
    const error = await errorOf(
      complete(run.runId, 0, ended(1), { parallel: { failFast: false, steps: [0, 1] } }),
    );
    expect(error.name).toBe('Step.Failed');
    expect((await h.db.store.runs.get(run.runId))?.steps['0']?.status).toBe('FAILED');
    expect(h.tasks.calls).toEqual([]);
  });

  it('with fail-fast stops the running siblings gracefully and keeps the unstarted ones from starting', async () => {
    const { run } = await running([{ name: 'Unit' }, { name: 'Lint' }, { name: 'E2E' }]);
    await begin(run.runId, 0);
    await begin(run.runId, 1);
    await taskStarted(run.runId, 1, 'task-lint', h.deps);
    const failed = await errorOf(
      complete(run.runId, 0, ended(1), { parallel: { failFast: true, steps: [0, 1, 2] } }),
    );
    expect(failed.name).toBe('Step.Failed');
    expect(h.tasks.calls).toEqual([
      { taskId: 'task-lint', mode: 'graceful', reason: 'fail-fast: Unit FAILED' },
    ]);
    expect((await h.db.store.runs.get(run.runId))?.steps['2']?.status).toBe('NOT_RUN');
    const error = await errorOf(begin(run.runId, 2));
    expect(error.name).toBe('Run.NotRunning');
    expect(error.message).toContain('NOT_RUN');
  });

  it('never throws for the final step', async () => {
    const { run } = await running([{}, { kind: 'final' }]);
    await control({ action: 'enterFinal', runId: run.runId, input: {} });
    await begin(run.runId, 1);
    expect(await complete(run.runId, 1, ended(5))).toEqual({ ok: false, status: 'FAILED' });
    expect(await complete(run.runId, 1, { kind: 'timedOut' })).toEqual({
      ok: false,
      status: 'TIMED_OUT',
    });
  });

  it('releases its locks on success and hands them to the next waiter', async () => {
    const lock = deployLock('prod', [0]);
    const repository = h.repository();
    const plan = planOf([{ locks: [lock.key] }], [lock]);
    const first = await h.newRun(plan, { repository });
    const second = await h.newRun(plan, { repository });
    for (const run of [first, second]) await control({ action: 'startRun', runId: run.runId });
    const acquire = (runId: string, token: string) =>
      control({ action: 'acquireLock', runId, step: 0, lock: lock.key, leaseSeconds: 60, taskToken: token });
    expect(await acquire(first.runId, 'tok-1')).toEqual({ state: 'held', fence: 1 });
    expect(await acquire(second.runId, 'tok-2')).toEqual({ state: 'queued', position: 1 });
    expect(h.orchestrator.successes().map((call) => [call.token, call.output])).toEqual([
      ['tok-1', { fence: 1 }],
    ]);

    await begin(first.runId, 0);
    await complete(first.runId, 0, ended(0), { release: [lock.key] });
    expect(h.orchestrator.successes().map((call) => [call.token, call.output])).toEqual([
      ['tok-1', { fence: 1 }],
      ['tok-2', { fence: 2 }],
    ]);
    expect((await h.db.store.runs.get(first.runId))?.locks).toEqual({});
    expect((await h.db.store.runs.get(second.runId))?.locks).toEqual({
      [lock.key]: { fence: 2, since: h.clock.now() },
    });
    expect((await h.db.store.runs.get(second.runId))?.waiting).toBeUndefined();
    expect((await h.db.store.locks.get(repository, lock.key))?.holder).toMatchObject({
      runId: second.runId,
      fence: 2,
    });
  });
});

describe('awaitApproval and acquireLock', () => {
  it('parks an approval token on a RUNNING run', async () => {
    const run = await h.newRun(planOf([{}, { trigger: 'manual' }]));
    await control({ action: 'startRun', runId: run.runId });
    expect(
      await control({ action: 'awaitApproval', runId: run.runId, step: 1, taskToken: 'approve-1' }),
    ).toEqual({
      state: 'waiting',
    });
    const stored = await h.db.store.runs.get(run.runId);
    expect(stored).toMatchObject({
      status: 'PAUSED',
      waiting: { kind: 'approval', step: 1, taskToken: 'approve-1', since: h.clock.now() },
    });
    expect(stored?.steps['1']?.status).toBe('WAITING');
    expect(h.orchestrator.calls).toEqual([]);
  });

  it('fails its own token with Pipeline.Stopped when the run is no longer RUNNING', async () => {
    const run = await h.newRun(planOf([{}, { trigger: 'manual' }]));
    await control({ action: 'startRun', runId: run.runId });
    await stopRun({ runId: run.runId, caller: alice }, h.deps);
    expect(await control({ action: 'awaitApproval', runId: run.runId, step: 1, taskToken: 'a' })).toEqual({
      state: 'stopped',
    });
    expect(
      await control({
        action: 'acquireLock',
        runId: run.runId,
        step: 1,
        lock: 'deployment:x',
        leaseSeconds: 60,
        taskToken: 'l',
      }),
    ).toEqual({ state: 'stopped' });
    expect(h.orchestrator.failures().map((call) => [call.token, call.error])).toEqual([
      ['a', 'Pipeline.Stopped'],
      ['l', 'Pipeline.Stopped'],
    ]);
    expect(await h.db.store.locks.get(run.repository, 'deployment:x')).toBeUndefined();
  });

  it('records the wait while queued, then leaves the queue if the run was stopped meanwhile', async () => {
    const lock = deployLock();
    const repository = h.repository();
    const plan = planOf([{ locks: [lock.key] }], [lock]);
    const holder = await h.newRun(plan, { repository });
    const waiter = await h.newRun(plan, { repository });
    for (const run of [holder, waiter]) await control({ action: 'startRun', runId: run.runId });
    await acquireLock(
      { repository, key: lock.key, runId: holder.runId, step: 0, leaseSeconds: 60, taskToken: 'h' },
      h.deps,
    );
    await control({
      action: 'acquireLock',
      runId: waiter.runId,
      step: 0,
      lock: lock.key,
      leaseSeconds: 60,
      taskToken: 'w',
    });
    expect((await h.db.store.runs.get(waiter.runId))?.waiting).toMatchObject({
      kind: 'lock',
      lock: lock.key,
      taskToken: 'w',
    });

    // The stop fails the waiting token and takes the run out of the queue.
    await stopRun({ runId: waiter.runId, caller: alice }, h.deps);
    expect(h.orchestrator.failures('w').map((call) => call.error)).toEqual(['Pipeline.Stopped']);
    expect((await h.db.store.locks.get(repository, lock.key))?.waiters).toEqual([]);
    expect((await h.db.store.runs.get(waiter.runId))?.waiting).toBeUndefined();
  });
});

describe('enterFinal and finishRun', () => {
  async function started(
    steps: Parameters<typeof planOf>[0] = [{}, { kind: 'final' }],
    locks: Parameters<typeof planOf>[1] = [],
  ) {
    const run = await h.newRun(planOf(steps, locks));
    await control({ action: 'startRun', runId: run.runId });
    return run;
  }

  it.each([
    [{}, 'SUCCESSFUL', 'succeeded'],
    [{ error: { Error: 'Step.Failed', Cause: '{}' } }, 'FAILED', 'stepFailed'],
    [{ error: { Error: 'Step.TimedOut' } }, 'FAILED', 'timedOut'],
    [{ error: { Error: 'Approval.Refused' } }, 'STOPPED', 'approvalRefused'],
    [{ error: { Error: 'Pipeline.Stopped' } }, 'STOPPED', 'stopped'],
    [{ error: { Error: 'Lambda.Unknown' } }, 'ERROR', 'internal'],
  ] as const)('fixes the outcome from %j', async (input, status, reason) => {
    const run = await started([{}, {}, { kind: 'final' }]);
    await control({ action: 'beginStep', runId: run.runId, step: 0 });
    expect(await control({ action: 'enterFinal', runId: run.runId, input })).toEqual({ status });
    const stored = await h.db.store.runs.get(run.runId);
    expect(stored).toMatchObject({ phase: 'final', outcome: { status, reason } });
    expect(Object.values(stored?.steps ?? {}).map((step) => step.status)).toEqual([
      'RUNNING',
      'NOT_RUN',
      'PENDING',
    ]);
  });

  it('reads a stop in progress, and keeps an outcome once fixed', async () => {
    const stopping = await started();
    await stopRun({ runId: stopping.runId, caller: alice, mode: 'drain' }, h.deps);
    expect(
      await control({
        action: 'enterFinal',
        runId: stopping.runId,
        input: { error: { Error: 'Run.NotRunning' } },
      }),
    ).toEqual({
      status: 'STOPPED',
    });
    expect((await h.db.store.runs.get(stopping.runId))?.outcome).toEqual({
      status: 'STOPPED',
      reason: 'drained',
    });
    // Invoked again (a Lambda retry): same answer, nothing changes.
    expect(await control({ action: 'enterFinal', runId: stopping.runId, input: {} })).toEqual({
      status: 'STOPPED',
    });
  });

  it('finishes with the terminal status and the Fail error, adjusted by the final step', async () => {
    const ok = await started();
    await control({ action: 'enterFinal', runId: ok.runId, input: {} });
    await control({ action: 'beginStep', runId: ok.runId, step: 1 });
    await control({ action: 'completeStep', runId: ok.runId, step: 1, result: ended(0) });
    h.clock.advance(10);
    expect(await control({ action: 'finishRun', runId: ok.runId })).toEqual({
      status: 'SUCCESSFUL',
      error: '',
    });
    expect(await h.db.store.runs.get(ok.runId)).toMatchObject({
      status: 'SUCCESSFUL',
      reason: 'succeeded',
      phase: 'done',
      endedAt: h.clock.now(),
    });

    const finalFails = await started();
    await control({ action: 'enterFinal', runId: finalFails.runId, input: {} });
    await control({ action: 'beginStep', runId: finalFails.runId, step: 1 });
    await control({ action: 'completeStep', runId: finalFails.runId, step: 1, result: ended(3) });
    expect(await control({ action: 'finishRun', runId: finalFails.runId })).toEqual({
      status: 'FAILED',
      error: 'Pipeline.Failed',
    });
    expect((await h.db.store.runs.get(finalFails.runId))?.reason).toBe('finalFailed');

    const timedOut = await started();
    await control({
      action: 'enterFinal',
      runId: timedOut.runId,
      input: { error: { Error: 'Step.TimedOut' } },
    });
    expect(await control({ action: 'finishRun', runId: timedOut.runId })).toEqual({
      status: 'FAILED',
      error: 'Pipeline.TimedOut',
    });
    // Finishing twice (a retried invocation) gives the same answer.
    expect(await control({ action: 'finishRun', runId: timedOut.runId })).toEqual({
      status: 'FAILED',
      error: 'Pipeline.TimedOut',
    });
  });

  it('releases every lock the run holds, handing over to the waiters, and leaves every queue', async () => {
    const prod = deployLock('prod', [0]);
    const staging = deployLock('staging', [1]);
    const repository = h.repository();
    const plan = planOf(
      [{ locks: [prod.key] }, { locks: [staging.key] }, { kind: 'final' }],
      [prod, staging],
    );
    const a = await h.newRun(plan, { repository });
    const b = await h.newRun(plan, { repository });
    const c = await h.newRun(plan, { repository });
    for (const run of [a, b, c]) await control({ action: 'startRun', runId: run.runId });
    const acquire = (runId: string, key: string, token: string) =>
      acquireLock({ repository, key, runId, step: 0, leaseSeconds: 60, taskToken: token }, h.deps);
    await acquire(a.runId, prod.key, 'a-prod');
    await acquire(b.runId, staging.key, 'b-staging');
    await acquire(b.runId, prod.key, 'b-prod');
    await acquire(a.runId, staging.key, 'a-staging');
    await acquire(c.runId, staging.key, 'c-staging');

    await control({ action: 'enterFinal', runId: a.runId, input: { error: { Error: 'Step.Failed' } } });
    expect(await control({ action: 'finishRun', runId: a.runId })).toEqual({
      status: 'FAILED',
      error: 'Pipeline.Failed',
    });
    expect((await h.db.store.locks.get(repository, prod.key))?.holder?.runId).toBe(b.runId);
    const stagingLock = await h.db.store.locks.get(repository, staging.key);
    expect(stagingLock?.holder?.runId).toBe(b.runId);
    expect(stagingLock?.waiters.map((waiter) => waiter.runId)).toEqual([c.runId]);
    expect(h.orchestrator.successes('b-prod')).toHaveLength(1);
    expect((await h.db.store.runs.get(a.runId))?.locks).toEqual({});
  });
});

describe('a plan compiled from real YAML', () => {
  it('creates the run from the compiler output and carries its deployment lock through a run', async () => {
    const read = await readPipelineFile('examples/build-test-deploy/bitbucket-pipelines.yml');
    if (!read.ok) throw new Error(JSON.stringify(read.diagnostics));
    const selection = selectPipeline(read.file, { kind: 'branch', branch: 'main' });
    if (!selection.pipeline) throw new Error(selection.reason);
    const plan = compile({ file: read.file, pipeline: selection.pipeline });
    const run = await h.newRun(plan);
    expect(Object.values(run.steps).map((step) => [step.name, step.kind])).toEqual([
      ['Build', 'step'],
      ['Unit tests', 'step'],
      ['Lint', 'step'],
      ['Deploy to staging', 'step'],
      ['Clean up', 'final'],
    ]);
    const [lock] = plan.locks;
    expect(lock?.key).toBe('deployment:staging');
    const deploy = plan.steps.find((step) => step.name === 'Deploy to staging')!;

    await control({ action: 'startRun', runId: run.runId });
    for (const step of [0, 1, 2]) {
      await control({ action: 'beginStep', runId: run.runId, step });
      await control({ action: 'completeStep', runId: run.runId, step, result: ended(0) });
    }
    const acquire = {
      action: 'acquireLock',
      runId: run.runId,
      step: deploy.index,
      lock: lock!.key,
      leaseSeconds: lock!.leaseSeconds,
    };
    expect(await control({ ...acquire, taskToken: 'deploy' } as ControlRequest)).toEqual({
      state: 'held',
      fence: 1,
    });
    await control({ action: 'beginStep', runId: run.runId, step: deploy.index });
    await control({ action: 'completeStep', runId: run.runId, step: deploy.index, result: ended(1) }).catch(
      () => undefined,
    );
    await control({ action: 'enterFinal', runId: run.runId, input: { error: { Error: 'Step.Failed' } } });
    expect((await h.db.store.runs.get(run.runId))?.locks[lock!.key]?.fence).toBe(1);
    await control({ action: 'beginStep', runId: run.runId, step: 4 });
    await control({ action: 'completeStep', runId: run.runId, step: 4, result: ended(0) });
    expect(await control({ action: 'finishRun', runId: run.runId })).toEqual({
      status: 'FAILED',
      error: 'Pipeline.Failed',
    });
    expect((await h.db.store.locks.get(run.repository, lock!.key))?.holder).toBeUndefined();
  });
});
