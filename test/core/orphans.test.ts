import { beforeEach, describe, expect, it } from 'vitest';
import { dispatchControl } from '../../core/control';
import { claimOrphan, findOrphans, markAborted, renewEngineLeases } from '../../core/orphans';
import type { ControlRequest } from '../../vocabulary/contract';
import { planOf, useCoreHarness } from './fixtures';

const h = useCoreHarness();
beforeEach(() => h.reset());
const control = <R extends ControlRequest>(request: R) => dispatchControl(request, h.deps);

describe('orphans', () => {
  it('renews the leases of the runs an instance owns, and finds the runs whose lease expired', async () => {
    const instance = `engine-${Math.random()}`;
    const dead = `engine-${Math.random()}`;
    const lease = (owner: string) => ({ instance: owner, leaseUntil: h.clock.now() + 30_000 });
    const mine = await h.newRun(planOf([{}]), { engine: lease(instance) });
    const theirs = await h.newRun(planOf([{}]), { engine: lease(dead) });
    const aws = await h.newRun(planOf([{}]));
    h.clock.advance(20_000);
    expect(await renewEngineLeases({ instance, leaseSeconds: 30 }, h.deps)).toEqual([mine.runId]);
    h.clock.advance(20_000);
    const orphans = (await findOrphans(h.deps)).map((run) => run.runId);
    expect(orphans).toContain(theirs.runId);
    expect(orphans).not.toContain(mine.runId);
    expect(orphans).not.toContain(aws.runId);
  });

  it('claims an orphan once: new owner, outcome ERROR/orphaned, running steps ERROR', async () => {
    const run = await h.newRun(planOf([{}, {}, { kind: 'final' }]), {
      engine: { instance: 'gone', leaseUntil: h.clock.now() + 10_000 },
    });
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'beginStep', runId: run.runId, step: 0 });
    expect(await claimOrphan(run.runId, { instance: 'me', leaseSeconds: 30 }, h.deps)).toBeUndefined();
    h.clock.advance(10_001);

    const claims = await Promise.all([
      claimOrphan(run.runId, { instance: 'me', leaseSeconds: 30 }, h.deps),
      claimOrphan(run.runId, { instance: 'other', leaseSeconds: 30 }, h.deps),
    ]);
    const won = claims.filter((claim) => claim !== undefined);
    expect(won).toHaveLength(1);
    const claimed = won[0]!;
    expect(claimed.engine).toEqual({
      instance: claimed.engine!.instance,
      leaseUntil: h.clock.now() + 30_000,
    });
    expect(claimed.outcome).toEqual({ status: 'ERROR', reason: 'orphaned' });
    expect(Object.values(claimed.steps).map((step) => step.status)).toEqual(['ERROR', 'PENDING', 'PENDING']);

    // The recovery execution runs the final path; the orphaned outcome is kept.
    expect(await control({ action: 'enterFinal', runId: run.runId, input: {} })).toEqual({ status: 'ERROR' });
    expect(await control({ action: 'finishRun', runId: run.runId })).toEqual({
      status: 'ERROR',
      error: 'Pipeline.Error',
    });
    expect((await h.db.store.runs.get(run.runId))?.reason).toBe('orphaned');
    expect(await claimOrphan(run.runId, { instance: 'late', leaseSeconds: 30 }, h.deps)).toBeUndefined();
  });

  it('records an execution aborted outside Finale, so a recovery execution ends the run', async () => {
    const run = await h.newRun(planOf([{}, {}, { kind: 'final' }]));
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'beginStep', runId: run.runId, step: 0 });
    const aborted = await markAborted(run.runId, 'execution x ended ABORTED', h.deps);
    expect(aborted?.outcome).toEqual({ status: 'ERROR', reason: 'aborted' });
    expect(aborted?.notes?.map((note) => note.text)).toEqual([
      'Its execution ended outside Finale (execution x ended ABORTED); a recovery execution finishes it: it ends ERROR once its final step has run',
    ]);
    expect(aborted?.steps['0']).toMatchObject({ status: 'ERROR', endedAt: h.clock.now() });
    expect(await control({ action: 'enterFinal', runId: run.runId, input: {} })).toEqual({ status: 'ERROR' });
    expect(await control({ action: 'finishRun', runId: run.runId })).toEqual({
      status: 'ERROR',
      error: 'Pipeline.Error',
    });
    expect((await h.db.store.runs.get(run.runId))?.reason).toBe('aborted');
    expect(await markAborted(run.runId, 'again', h.deps)).toBeUndefined();
  });
});
