// Writes of a run's steps: its start, each step beginning, restarting and ending, its task, notes.

import type { RunAccess } from './run-access';
import { ACTIVE } from './run-access';
import type { RunsRepository } from './runs';

export function runSteps({
  stepPath,
  update,
}: RunAccess): Pick<
  RunsRepository,
  | 'start'
  | 'beginStep'
  | 'recordStepResult'
  | 'addNote'
  | 'markResumed'
  | 'restartStep'
  | 'skipPendingStep'
  | 'recordTaskStarted'
  | 'recordTaskEnded'
> {
  return {
    start: (runId, at) =>
      update(runId, 'start', (e) => {
        e.where(e.eq(['status'], 'PENDING'));
        e.set(['status'], 'RUNNING').set(['startedAt'], at);
      }),

    beginStep: (runId, step, { at, requireRunning }) =>
      update(runId, `begin step ${step}`, (e) => {
        e.where(e.exists(['steps', String(step)]));
        // One conditional write decides, so beginning a step costs one round trip.
        // (Built only when used: an unused expression value is a ValidationException.)
        const running = () =>
          `(${e.in(['status'], ACTIVE)} AND ${e.ne(stepPath(step, 'status'), 'NOT_RUN')})`;
        if (requireRunning === true) e.where(running());
        else if (requireRunning === undefined) {
          // A final step begins whatever the run's status — but once: from PENDING only.
          const kind = stepPath(step, 'kind');
          e.where(
            e.or(
              `(${e.eq(kind, 'final')} AND ${e.eq(stepPath(step, 'status'), 'PENDING')})`,
              `(${e.ne(kind, 'final')} AND ${running()})`,
            ),
          );
        }
        e.set(stepPath(step, 'status'), 'RUNNING').set(stepPath(step, 'startedAt'), at);
        for (const stale of ['endedAt', 'exitCode', 'stopCode', 'taskId', 'ignored'])
          e.remove(stepPath(step, stale));
        e.add(stepPath(step, 'attempts'), 1);
      }),

    recordStepResult: (runId, step, result) =>
      update(runId, `record the result of step ${step}`, (e) => {
        e.where(e.exists(['steps', String(step)]));
        e.set(stepPath(step, 'status'), result.status).set(stepPath(step, 'endedAt'), result.endedAt);
        if (result.exitCode !== undefined) e.set(stepPath(step, 'exitCode'), result.exitCode);
        if (result.stopCode !== undefined) e.set(stepPath(step, 'stopCode'), result.stopCode);
        if (result.ignored) e.set(stepPath(step, 'ignored'), true);
      }),

    addNote: (runId, note) =>
      update(runId, 'add a note', (e) => {
        e.append(['notes'], [note]);
      }),

    markResumed: (runId, step, note) =>
      update(runId, `resume step ${step}`, (e) => {
        e.where(e.eq(stepPath(step, 'status'), 'RUNNING'));
        e.where(e.notExists(stepPath(step, 'resumed')));
        e.set(stepPath(step, 'resumed'), true).append(['notes'], [note]);
      }),

    restartStep: (runId, step, { at, attempts, note }) =>
      update(runId, `restart step ${step}`, (e) => {
        e.where(e.eq(stepPath(step, 'status'), 'RUNNING'));
        e.where(e.eq(stepPath(step, 'attempts'), attempts));
        e.set(stepPath(step, 'startedAt'), at).append(['notes'], [note]);
        for (const stale of ['endedAt', 'exitCode', 'stopCode', 'taskId', 'ignored', 'resumed'])
          e.remove(stepPath(step, stale));
        e.add(stepPath(step, 'attempts'), 1);
      }),

    skipPendingStep: (runId, step) =>
      update(runId, `skip step ${step}`, (e) => {
        e.where(e.eq(stepPath(step, 'status'), 'PENDING'));
        e.set(stepPath(step, 'status'), 'NOT_RUN');
      }),

    recordTaskStarted: (runId, step, taskId) =>
      update(runId, `record the task of step ${step}`, (e) => {
        e.where(e.exists(['steps', String(step)]));
        e.set(stepPath(step, 'taskId'), taskId);
      }),

    recordTaskEnded: (runId, step, ended) =>
      update(runId, `record the end of step ${step}`, (e) => {
        e.where(e.exists(['steps', String(step)]));
        if (ended.exitCode !== undefined) e.set(stepPath(step, 'exitCode'), ended.exitCode);
        if (ended.stopCode !== undefined) e.set(stepPath(step, 'stopCode'), ended.stopCode);
        for (const [name, value] of Object.entries(ended.outputs)) e.set(['outputs', name], value);
        for (const [name, sealed] of Object.entries(ended.securedOutputs ?? {}))
          e.set(['securedOutputs', name], sealed);
      }),
  };
}
