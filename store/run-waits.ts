// Writes of what a run waits for: an approval, a lock in its queue, and the locks it holds.

import { ConditionFailedError } from './errors';
import type { RunAccess } from './run-access';
import { ACTIVE } from './run-access';
import type { RunsRepository } from './runs';

export function runWaits({
  stepPath,
  update,
}: RunAccess): Pick<
  RunsRepository,
  | 'pauseForApproval'
  | 'resumeFromApproval'
  | 'revertApproval'
  | 'waitForLock'
  | 'markStepWaiting'
  | 'clearWaiting'
  | 'holdLock'
  | 'dropLock'
> {
  return {
    pauseForApproval: (runId, waiting) =>
      update(runId, `wait for the approval of step ${waiting.step}`, (e) => {
        e.where(
          e.or(
            e.eq(['status'], 'RUNNING'),
            `(${e.eq(['status'], 'PAUSED')} AND ${e.eq(['waiting', 'kind'], 'approval')} AND ${e.eq(['waiting', 'step'], waiting.step)})`,
          ),
        );
        e.set(['status'], 'PAUSED')
          .set(['waiting'], waiting)
          .set(stepPath(waiting.step, 'status'), 'WAITING')
          .remove(stepPath(waiting.step, 'refusedBy'));
      }),

    resumeFromApproval: (runId, waiting, decision) =>
      update(runId, 'resume from the approval', (e) => {
        e.where(e.eq(['status'], 'PAUSED'));
        e.where(e.eq(['waiting', 'taskToken'], waiting.taskToken));
        e.set(['status'], 'RUNNING')
          .remove(['waiting'])
          .set(stepPath(waiting.step, 'status'), decision.approved ? 'PENDING' : 'NOT_RUN');
        if (!decision.approved) e.set(stepPath(waiting.step, 'refusedBy'), decision.refusedBy);
      }),

    revertApproval: (runId, waiting, expectedVersion) =>
      update(runId, 'restore the approval wait', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.set(['status'], 'PAUSED')
          .set(['waiting'], waiting)
          .set(stepPath(waiting.step, 'status'), 'WAITING')
          .remove(stepPath(waiting.step, 'refusedBy'));
      }),

    waitForLock: (runId, waiting) =>
      update(runId, `wait for lock ${waiting.lock}`, (e) => {
        e.where(e.eq(['status'], 'RUNNING'));
        e.set(['waiting'], waiting).set(stepPath(waiting.step, 'status'), 'WAITING');
      }),

    markStepWaiting: (runId, step) =>
      update(runId, `mark step ${step} waiting`, (e) => {
        e.where(e.in(['status'], ACTIVE));
        e.where(e.exists(['steps', String(step)]));
        e.set(stepPath(step, 'status'), 'WAITING');
      }),

    clearWaiting: (runId, taskToken) =>
      update(runId, 'clear its waiting token', (e) => {
        e.where(e.eq(['waiting', 'taskToken'], taskToken));
        e.remove(['waiting']);
      }),

    async holdLock(runId, key, held) {
      try {
        return await update(runId, `record lock ${key}`, (e) => {
          // The wait for this very lock ends with it; a run waits for one thing at a time.
          e.where(e.or(e.notExists(['waiting']), e.eq(['waiting', 'lock'], key)));
          e.set(['locks', key], held).remove(['waiting']);
        });
      } catch (error) {
        if (!(error instanceof ConditionFailedError) || !error.current) throw error;
        return update(runId, `record lock ${key}`, (e) => {
          e.set(['locks', key], held);
        });
      }
    },

    dropLock: (runId, key, fence) =>
      update(runId, `drop lock ${key}`, (e) => {
        if (fence !== undefined)
          e.where(e.or(e.notExists(['locks', key]), e.eq(['locks', key, 'fence'], fence)));
        e.remove(['locks', key]);
      }),
  };
}
