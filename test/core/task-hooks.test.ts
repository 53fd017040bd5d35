import { beforeEach, describe, expect, it } from 'vitest';
import { dispatchControl } from '../../core/control';
import { stopRun } from '../../core/stop';
import { taskEnded, taskStarted } from '../../core/task-hooks';
import type { ControlRequest } from '../../vocabulary/contract';
import { alice, planOf, useCoreHarness } from './fixtures';

const h = useCoreHarness();
beforeEach(() => h.reset());
const control = <R extends ControlRequest>(request: R) => dispatchControl(request, h.deps);

describe('task hooks', () => {
  it('records the task of a step', async () => {
    const run = await h.newRun(planOf([{}]));
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'beginStep', runId: run.runId, step: 0 });
    expect(await taskStarted(run.runId, 0, 'arn:aws:ecs:task/1', h.deps)).toEqual({ stopped: false });
    expect((await h.db.store.runs.get(run.runId))?.steps['0']?.taskId).toBe('arn:aws:ecs:task/1');
    expect(h.tasks.calls).toEqual([]);
    await expect(taskStarted('nope', 0, 't', h.deps)).rejects.toMatchObject({ exitCode: 4 });
  });

  it('stops on sight the task of a run stopped before its task was known', async () => {
    const run = await h.newRun(planOf([{}, { kind: 'final' }]));
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'beginStep', runId: run.runId, step: 0 });
    const stop = await stopRun({ runId: run.runId, caller: alice, reason: 'oops' }, h.deps);
    expect(stop.stoppedTasks).toEqual([]);
    expect(await taskStarted(run.runId, 0, 'late-task', h.deps)).toEqual({ stopped: true });
    expect(h.tasks.calls).toEqual([
      { taskId: 'late-task', mode: 'graceful', reason: 'Stopped by alice: oops' },
    ]);

    // The final step of that run is left alone.
    await control({ action: 'enterFinal', runId: run.runId, input: {} });
    await control({ action: 'beginStep', runId: run.runId, step: 1 });
    expect(await taskStarted(run.runId, 1, 'final-task', h.deps)).toEqual({ stopped: false });
  });

  it('stops a late task immediately after an immediate stop, and leaves a draining run alone', async () => {
    const run = await h.newRun(planOf([{}]));
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'beginStep', runId: run.runId, step: 0 });
    await stopRun({ runId: run.runId, caller: alice, mode: 'immediate' }, h.deps);
    await taskStarted(run.runId, 0, 't1', h.deps);
    expect(h.tasks.calls.map((call) => call.mode)).toEqual(['immediate']);

    const draining = await h.newRun(planOf([{}]));
    await control({ action: 'startRun', runId: draining.runId });
    await control({ action: 'beginStep', runId: draining.runId, step: 0 });
    await stopRun({ runId: draining.runId, caller: alice, mode: 'drain' }, h.deps);
    expect(await taskStarted(draining.runId, 0, 't2', h.deps)).toEqual({ stopped: false });
  });

  it('records the script exit code and only the declared output variables', async () => {
    const run = await h.newRun(planOf([{ outputVariables: ['VERSION', 'IMAGE'] }]));
    await control({ action: 'startRun', runId: run.runId });
    await control({ action: 'beginStep', runId: run.runId, step: 0 });
    const result = await taskEnded(
      run.runId,
      0,
      {
        exitCode: 0,
        stopCode: 'EssentialContainerExited',
        outputs: { VERSION: '1.4.2', SECRET: 'x', IMAGE: '' },
      },
      h.deps,
    );
    expect(result.outputs).toEqual({ VERSION: '1.4.2', IMAGE: '' });
    const stored = await h.db.store.runs.get(run.runId);
    expect(stored?.outputs).toEqual({ VERSION: '1.4.2', IMAGE: '' });
    expect(stored?.steps['0']).toMatchObject({ exitCode: 0, stopCode: 'EssentialContainerExited' });
    await expect(taskEnded(run.runId, 5, {}, h.deps)).rejects.toMatchObject({ exitCode: 4 });
  });
});
