import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ConditionFailedError } from '../../store/errors';
import type { RunRecord } from '../../store/records';
import { useDynalite } from '../support/dynalite';

const db = useDynalite();

function runRecord(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    runId: randomUUID(),
    repository: 'acme/app',
    buildNumber: 1,
    pipeline: 'branches:main',
    planHash: 'plan-1',
    trigger: { kind: 'branch', ref: 'main', commit: 'c0ffee' },
    status: 'PENDING',
    phase: 'main',
    startedBy: 'alice',
    createdAt: 1000,
    variables: { EMPTY: '' },
    outputs: {},
    steps: {
      '0': { index: 0, name: 'Build', kind: 'step', status: 'PENDING', attempts: 0 },
      '1': { index: 1, name: 'Clean up', kind: 'final', status: 'PENDING', attempts: 0 },
    },
    locks: {},
    version: 1,
    ...overrides,
  };
}

describe('runs repository', () => {
  it('creates a run only once and reads it back as written', async () => {
    const run = runRecord();
    await db.store.runs.create(run);
    expect(await db.store.runs.get(run.runId)).toEqual(run);
    const again = db.store.runs.create(run);
    await expect(again).rejects.toBeInstanceOf(ConditionFailedError);
    await expect(again).rejects.toMatchObject({ current: run });
    expect(await db.store.runs.get('no-such-run')).toBeUndefined();
  });

  it('finds runs by build number and lists them newest first, page by page', async () => {
    const repository = `acme/list-${randomUUID()}`;
    for (let n = 1; n <= 5; n++) await db.store.runs.create(runRecord({ repository, buildNumber: n }));
    expect((await db.store.runs.getByBuildNumber(repository, 3))?.buildNumber).toBe(3);
    expect(await db.store.runs.getByBuildNumber(repository, 9)).toBeUndefined();

    const first = await db.store.runs.list(repository, { limit: 2 });
    expect(first.items.map((run) => run.buildNumber)).toEqual([5, 4]);
    expect(first.cursor).toBeTypeOf('string');
    const second = await db.store.runs.list(repository, { limit: 2, cursor: first.cursor! });
    expect(second.items.map((run) => run.buildNumber)).toEqual([3, 2]);
    const third = await db.store.runs.list(repository, { limit: 2, cursor: second.cursor! });
    expect(third.items.map((run) => run.buildNumber)).toEqual([1]);
    await expect(db.store.runs.list(repository, { cursor: 'garbage!' })).rejects.toThrow(
      /Invalid page cursor/,
    );
  });

  it('moves PENDING → RUNNING once, bumping the version, and reports the state on conflict', async () => {
    const run = runRecord();
    await db.store.runs.create(run);
    const started = await db.store.runs.start(run.runId, 2000);
    expect(started).toMatchObject({ status: 'RUNNING', startedAt: 2000, version: 2 });
    const error = await db.store.runs.start(run.runId, 3000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConditionFailedError);
    expect((error as ConditionFailedError).message).toContain('it is RUNNING');
    expect((error as ConditionFailedError<RunRecord>).current?.startedAt).toBe(2000);
    await expect(db.store.runs.start('missing', 1)).rejects.toThrow(/does not exist/);
  });

  it('updates step records as nested maps, never creating runs that do not exist', async () => {
    const run = runRecord({ status: 'RUNNING' });
    await db.store.runs.create(run);
    await db.store.runs.beginStep(run.runId, 0, { at: 10, requireRunning: true });
    await db.store.runs.recordTaskStarted(run.runId, 0, 'local:123');
    await db.store.runs.recordTaskEnded(run.runId, 0, { exitCode: 3, outputs: { VERSION: '1.2.3' } });
    const failed = await db.store.runs.recordStepResult(run.runId, 0, {
      status: 'FAILED',
      exitCode: 3,
      endedAt: 20,
    });
    expect(failed.steps['0']).toEqual({
      index: 0,
      name: 'Build',
      kind: 'step',
      status: 'FAILED',
      attempts: 1,
      startedAt: 10,
      endedAt: 20,
      exitCode: 3,
      taskId: 'local:123',
    });
    expect(failed.outputs).toEqual({ VERSION: '1.2.3' });

    // A second attempt clears what belonged to the first.
    const retried = await db.store.runs.beginStep(run.runId, 0, { at: 30, requireRunning: true });
    expect(retried.steps['0']).toEqual({
      index: 0,
      name: 'Build',
      kind: 'step',
      status: 'RUNNING',
      attempts: 2,
      startedAt: 30,
    });

    await expect(
      db.store.runs.beginStep(run.runId, 7, { at: 1, requireRunning: false }),
    ).rejects.toBeInstanceOf(ConditionFailedError);
    await expect(db.store.runs.recordTaskStarted('ghost', 0, 'x')).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    const raw = await db.client.send(new GetCommand({ TableName: db.tables.runs, Key: { runId: 'ghost' } }));
    expect(raw.Item).toBeUndefined();
  });

  it('begins a step only while the run is RUNNING, unless asked not to require it', async () => {
    const run = runRecord({ status: 'STOPPING' });
    await db.store.runs.create(run);
    await expect(db.store.runs.beginStep(run.runId, 0, { at: 1, requireRunning: true })).rejects.toThrow(
      /it is STOPPING/,
    );
    const final = await db.store.runs.beginStep(run.runId, 1, { at: 1, requireRunning: false });
    expect(final.steps['1']?.status).toBe('RUNNING');
  });

  it('by default begins only the final step of a run that is no longer RUNNING, in one write', async () => {
    const run = runRecord({ status: 'STOPPING' });
    await db.store.runs.create(run);
    await expect(db.store.runs.beginStep(run.runId, 0, { at: 1 })).rejects.toThrow(/it is STOPPING/);
    const final = await db.store.runs.beginStep(run.runId, 1, { at: 2 });
    expect(final.steps['1']).toMatchObject({ status: 'RUNNING', startedAt: 2, attempts: 1 });
    const running = runRecord({ status: 'RUNNING' });
    await db.store.runs.create(running);
    await db.store.runs.skipPendingStep(running.runId, 0);
    await expect(db.store.runs.beginStep(running.runId, 0, { at: 3 })).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
  });

  it('records held locks under keys with any characters, and the waiting token', async () => {
    const run = runRecord({ status: 'RUNNING' });
    await db.store.runs.create(run);
    const key = 'deployment:prod #1.eu';
    const waiting = await db.store.runs.waitForLock(run.runId, {
      kind: 'lock',
      step: 0,
      lock: key,
      taskToken: 't1',
      since: 5,
    });
    expect(waiting.waiting).toEqual({ kind: 'lock', step: 0, lock: key, taskToken: 't1', since: 5 });
    expect(waiting.steps['0']?.status).toBe('WAITING');
    const held = await db.store.runs.holdLock(run.runId, key, { fence: 4, since: 6 });
    expect(held.locks).toEqual({ [key]: { fence: 4, since: 6 } });
    expect(held.waiting).toBeUndefined();
    // A stale drop (another acquisition's fence) leaves it; the right one removes it.
    expect(
      (
        await db.store.runs
          .dropLock(run.runId, key, 3)
          .catch((e: ConditionFailedError<RunRecord>) => e.current)
      )?.locks,
    ).toEqual({
      [key]: { fence: 4, since: 6 },
    });
    expect((await db.store.runs.dropLock(run.runId, key, 4)).locks).toEqual({});
  });

  it('keeps a different wait when a lock is recorded', async () => {
    const run = runRecord({ status: 'RUNNING' });
    await db.store.runs.create(run);
    await db.store.runs.waitForLock(run.runId, {
      kind: 'lock',
      step: 0,
      lock: 'concurrency:a',
      taskToken: 't',
      since: 1,
    });
    const held = await db.store.runs.holdLock(run.runId, 'deployment:b', { fence: 1, since: 2 });
    expect(held.waiting?.lock).toBe('concurrency:a');
    expect(held.locks['deployment:b']).toEqual({ fence: 1, since: 2 });
  });

  it('conditions version-based writes on the version read', async () => {
    const run = runRecord({ status: 'RUNNING' });
    await db.store.runs.create(run);
    const stop = { by: 'bob', mode: 'graceful' as const, at: 7 };
    await expect(
      db.store.runs.requestStop(run.runId, { status: 'STOPPING', record: stop, expectedVersion: 9 }),
    ).rejects.toBeInstanceOf(ConditionFailedError);
    const stopped = await db.store.runs.requestStop(run.runId, {
      status: 'STOPPING',
      record: stop,
      expectedVersion: 1,
    });
    expect(stopped).toMatchObject({ status: 'STOPPING', stop, version: 2 });

    const final = await db.store.runs.enterFinal(run.runId, {
      outcome: { status: 'STOPPED', reason: 'stopped' },
      notRun: [0],
      expectedVersion: 2,
    });
    expect(final).toMatchObject({ phase: 'final', outcome: { status: 'STOPPED', reason: 'stopped' } });
    expect(final.steps['0']?.status).toBe('NOT_RUN');
    const done = await db.store.runs.finish(run.runId, {
      status: 'STOPPED',
      reason: 'stopped',
      endedAt: 99,
      expectedVersion: 3,
    });
    expect(done).toMatchObject({
      status: 'STOPPED',
      reason: 'stopped',
      endedAt: 99,
      phase: 'done',
      locks: {},
    });
  });

  it('keeps an outcome already fixed when entering the final path', async () => {
    const run = runRecord({ status: 'RUNNING', outcome: { status: 'ERROR', reason: 'orphaned' } });
    await db.store.runs.create(run);
    const final = await db.store.runs.enterFinal(run.runId, {
      outcome: { status: 'SUCCESSFUL', reason: 'succeeded' },
      notRun: [],
      expectedVersion: 1,
    });
    expect(final.outcome).toEqual({ status: 'ERROR', reason: 'orphaned' });
  });

  it('pauses for an approval, refreshes its token, resumes only with the right token', async () => {
    const run = runRecord({ status: 'RUNNING' });
    await db.store.runs.create(run);
    await db.store.runs.pauseForApproval(run.runId, { kind: 'approval', step: 0, taskToken: 'a1', since: 1 });
    const refreshed = await db.store.runs.pauseForApproval(run.runId, {
      kind: 'approval',
      step: 0,
      taskToken: 'a2',
      since: 2,
    });
    expect(refreshed).toMatchObject({ status: 'PAUSED', waiting: { taskToken: 'a2' } });
    await expect(
      db.store.runs.pauseForApproval(run.runId, { kind: 'approval', step: 1, taskToken: 'a3', since: 3 }),
    ).rejects.toThrow(/it is PAUSED/);
    await expect(
      db.store.runs.resumeFromApproval(run.runId, { step: 0, taskToken: 'a1' }, { approved: true }),
    ).rejects.toBeInstanceOf(ConditionFailedError);
    const resumed = await db.store.runs.resumeFromApproval(
      run.runId,
      { step: 0, taskToken: 'a2' },
      { approved: true },
    );
    expect(resumed.status).toBe('RUNNING');
    expect(resumed.waiting).toBeUndefined();
    expect(resumed.steps['0']?.status).toBe('PENDING');
  });

  it('renews and claims engine leases, comparing times in the condition', async () => {
    const run = runRecord({ status: 'RUNNING', engine: { instance: 'one', leaseUntil: 1000 } });
    await db.store.runs.create(run);
    await db.store.runs.beginStep(run.runId, 0, { at: 1, requireRunning: true });
    await expect(db.store.runs.renewEngineLease(run.runId, 'two', 5000)).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    const renewed = await db.store.runs.renewEngineLease(run.runId, 'one', 2000);
    expect(renewed.engine).toEqual({ instance: 'one', leaseUntil: 2000 });

    const claim = (now: number, expectedVersion: number) =>
      db.store.runs.claimOrphan(run.runId, {
        engine: { instance: 'two', leaseUntil: now + 60_000 },
        now,
        erroredSteps: [0],
        endedAt: now,
        note: { at: now, text: 'engine one went away' },
        expectedVersion,
      });
    await expect(claim(1500, renewed.version)).rejects.toBeInstanceOf(ConditionFailedError);
    const claimed = await claim(2500, renewed.version);
    expect(claimed.engine).toEqual({ instance: 'two', leaseUntil: 62_500 });
    expect(claimed.outcome).toEqual({ status: 'ERROR', reason: 'orphaned' });
    expect(claimed.steps['0']).toMatchObject({ status: 'ERROR', endedAt: 2500 });
    expect(claimed.notes).toEqual([{ at: 2500, text: 'engine one went away' }]);

    const unfinished = await db.store.runs.listUnfinished();
    expect(unfinished.some((r) => r.runId === run.runId)).toBe(true);
    await db.store.runs.finish(run.runId, {
      status: 'ERROR',
      reason: 'orphaned',
      endedAt: 1,
      expectedVersion: claimed.version,
    });
    expect((await db.store.runs.listUnfinished()).some((r) => r.runId === run.runId)).toBe(false);
  });
});
