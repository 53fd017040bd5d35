import { TERMINAL_RUN_STATUSES } from '../vocabulary/contract';
import type { RunAccess } from './run-access';
import type { RunsRepository } from './runs';

export function runLifecycle({
  stepPath,
  update,
}: RunAccess): Pick<
  RunsRepository,
  | 'requestStop'
  | 'enterFinal'
  | 'finish'
  | 'setEngine'
  | 'renewEngineLease'
  | 'recordAbandoned'
  | 'claimOrphan'
> {
  return {
    requestStop: (runId, { status, record, expectedVersion }) =>
      update(runId, 'stop', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.set(['status'], status).set(['stop'], record);
      }),

    enterFinal: (runId, { outcome, notRun, expectedVersion }) =>
      update(runId, 'enter the final path', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        if (outcome) e.setIfAbsent(['outcome'], outcome);
        for (const step of notRun) e.set(stepPath(step, 'status'), 'NOT_RUN');
        e.set(['phase'], 'final').remove(['waiting']);
      }),

    finish: (runId, { status, reason, endedAt, expectedVersion }) =>
      update(runId, 'finish', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.set(['status'], status).set(['reason'], reason).set(['endedAt'], endedAt).set(['phase'], 'done');
        e.set(['locks'], {}).remove(['waiting']);
      }),

    setEngine: (runId, engine) =>
      update(runId, 'record its engine', (e) => {
        e.set(['engine'], engine);
      }),

    renewEngineLease: (runId, instance, leaseUntil) =>
      update(runId, 'renew its engine lease', (e) => {
        e.where(e.eq(['engine', 'instance'], instance));
        e.where(e.not(e.in(['status'], TERMINAL_RUN_STATUSES)));
        e.set(['engine', 'leaseUntil'], leaseUntil);
      }),

    recordAbandoned: (runId, { outcome, erroredSteps, endedAt, note, expectedVersion }) =>
      update(runId, 'record it as abandoned', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.where(e.not(e.in(['status'], TERMINAL_RUN_STATUSES)));
        e.set(['outcome'], outcome).append(['notes'], [note]);
        for (const step of erroredSteps) {
          e.set(stepPath(step, 'status'), 'ERROR').set(stepPath(step, 'endedAt'), endedAt);
        }
        e.remove(['waiting']);
      }),

    claimOrphan: (runId, { engine, now, erroredSteps, endedAt, note, expectedVersion }) =>
      update(runId, 'claim it as an orphan', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.where(e.lt(['engine', 'leaseUntil'], now));
        e.where(e.not(e.in(['status'], TERMINAL_RUN_STATUSES)));
        e.set(['engine'], engine).append(['notes'], [note]);
        e.set(['outcome'], { status: 'ERROR', reason: 'orphaned' });
        for (const step of erroredSteps) {
          e.set(stepPath(step, 'status'), 'ERROR').set(stepPath(step, 'endedAt'), endedAt);
        }
      }),
  };
}
