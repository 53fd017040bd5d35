// What must hold after every schedule, whatever happened in it (README, "When the server goes away";
// issue: stop and final must hold where users stand):
//   - every run ends, and its status is what its events make it: ERROR when an engine died or was
//     stopped while it ran, else STOPPED for an accepted stop or a refused approval, else FAILED when
//     a step (or the final step) failed, else SUCCESSFUL; `finale run`'s client saw that status and
//     exits with its code; no run ends ERROR for Finale's own failure;
//   - the final step runs exactly once — more often only when an earlier attempt was killed before it
//     finished, each such attempt noted — and only once nothing else of its run is running;
//   - the records say what the tasks did (exit codes, statuses);
//   - no lock is ever held by two runs at once; every lock is free at rest;
//   - no step process is left.

import { exitCodeOf } from '../cli/format';
import { decideFromTask } from '../core/outcome';
import type { RunRecord, StepRecord } from '../store/records';
import { exitCodeOfStatus } from '../supervisor/contract';
import type { Observation } from './driver';
import { markerName } from './real';
import type { PipelinePlan } from './scenario';
import type { SimTask } from './world';

export interface Violation {
  readonly invariant: string;
  readonly run?: number;
  readonly detail: string;
}

const FAILED_STEP = new Set(['FAILED', 'TIMED_OUT', 'ERROR']);

/**
 * The statuses the run may end with. An engine that went away while the run was not done makes it
 * ERROR; one that went away just as the run ended (its finish in flight while it went) may leave
 * either.
 */
function expectedStatuses(run: RunRecord, observation: Observation): string[] {
  const ended = run.endedAt ?? Infinity;
  // A run no start call returned for was started by an engine that went away during the call.
  if (!observation.startedOn.has(run.runId)) return ['ERROR'];
  const during = observation.crashes.filter(
    (crash) =>
      ended > crash.from &&
      (run.createdAt <= crash.to || observation.startedOn.get(run.runId) === crash.engine),
  );
  if (during.some((crash) => ended > crash.to)) return ['ERROR'];
  const normal = expectedStatus(run, observation);
  return during.length ? ['ERROR', ...normal] : normal;
}

function expectedStatus(run: RunRecord, observation: Observation): string[] {
  const stops = observation.stops.filter((stop) => stop.runId === run.runId && stop.accepted);
  if (stops.some((stop) => stop.phase === 'main')) return ['STOPPED'];
  const steps = Object.values(run.steps);
  const failedStep = steps.some(
    (step) => step.kind === 'step' && FAILED_STEP.has(step.status) && !step.ignored,
  );
  // A refusal stops the run, unless a step (a parallel sibling of the refused one) failed first.
  if (observation.refusals.includes(run.runId)) return failedStep ? ['STOPPED', 'FAILED'] : ['STOPPED'];
  const final = steps.find((step) => step.kind === 'final');
  if (final?.status === 'STOPPED' && stops.some((stop) => stop.final)) return ['STOPPED'];
  if (failedStep) return ['FAILED'];
  if (final && FAILED_STEP.has(final.status)) return ['FAILED'];
  return ['SUCCESSFUL'];
}

/**
 * The record a simulated task's end must make: the core's decision (core/outcome.ts) from what the
 * task really did — its supervisor's exit code (137 when it was killed without a status) and whether
 * a stop reached it while it ran (ECS's stop code UserInitiated).
 */
function statusOf(task: SimTask): { status: string; exitCode: number } {
  const status = task.end?.status;
  const exitCode = status ? exitCodeOfStatus(status) : 137;
  const decided = decideFromTask({ exitCode, ...(task.stopRequested ? { stoppedBy: 'request' } : {}) });
  return { status: decided.status, exitCode: status?.exitCode ?? exitCode };
}

function pipelineOf(run: RunRecord, observation: Observation): PipelinePlan | undefined {
  return observation.schedule.pipelines.find((pipeline) => `custom:${pipeline.name}` === run.pipeline);
}

export function checkInvariants(observation: Observation): Violation[] {
  const violations: Violation[] = [];
  const report = (invariant: string, detail: string, run?: RunRecord) =>
    violations.push({ invariant, detail, ...(run ? { run: run.buildNumber } : {}) });
  const { world } = observation;

  for (const runId of observation.unfinished) {
    const run = observation.runs.find((candidate) => candidate.runId === runId);
    report('every run ends', `run ${runId} is ${run?.status}/${run?.phase}`, run);
  }
  for (const run of observation.runs) {
    if (run.phase !== 'done') continue;
    const expected = expectedStatuses(run, observation);
    if (!expected.includes(run.status)) {
      report(
        'status',
        `${run.status} (${run.reason}), expected ${expected.join(' or ')}; notes: ${JSON.stringify(run.notes ?? [])}`,
        run,
      );
    }
    if (run.status === 'ERROR' && run.reason === 'internal')
      report('status', 'Finale failed (reason internal)', run);
    const client = observation.clients.get(run.runId);
    if (client && 'error' in client) report('client', `the client failed: ${client.error}`, run);
    else if (client && (client.status !== run.status || client.exitCode !== exitCodeOf(run.status))) {
      report(
        'client',
        `the client saw ${client.status} and exits ${client.exitCode}; the run is ${run.status}`,
        run,
      );
    }

    const pipeline = pipelineOf(run, observation);
    const final = Object.values(run.steps).find((step) => step.kind === 'final');
    if (pipeline?.final && !final) report('final', 'the pipeline has a final step, the run none', run);
    if (final) checkFinal(run, final, observation, report);
    if (world) {
      for (const step of Object.values(run.steps)) {
        const tasks = world.of(run.runId, step.index);
        if (step.kind !== 'step' || tasks.length === 0) continue;
        const last = tasks.at(-1)!;
        // A step's record is the engine's account of its last task, unless the engine went away
        // during it (then it is ERROR, and the adopter stopped the task).
        if (step.status === 'ERROR' && run.status === 'ERROR' && expected.includes('ERROR')) continue;
        const seen = statusOf(last);
        if (step.status !== seen.status || (step.exitCode !== undefined && step.exitCode !== seen.exitCode)) {
          report(
            'records',
            `"${step.name}" is ${step.status} (exit ${step.exitCode}); its task ended ${seen.status} (exit ${seen.exitCode})`,
            run,
          );
        }
        if (step.attempts !== tasks.length) {
          report('records', `"${step.name}" has ${step.attempts} attempts; ${tasks.length} tasks ran`, run);
        }
      }
    } else {
      // Real processes: a step the record calls successful ran its script to its end.
      for (const step of Object.values(run.steps)) {
        const lines = observation.markers[`${run.buildNumber}-${markerName(step.name)}`] ?? [];
        if (step.status === 'SUCCESSFUL' && lines.at(-1) !== 'end')
          report('records', `"${step.name}" is SUCCESSFUL; its script wrote ${JSON.stringify(lines)}`, run);
      }
    }
  }

  if (world) {
    // No lock held by two runs at once: the tasks under one lock never overlap across runs.
    const byLock = new Map<string, (typeof world.intervals)[number][]>();
    for (const interval of world.intervals)
      for (const key of interval.locks) byLock.set(key, [...(byLock.get(key) ?? []), interval]);
    for (const [key, intervals] of byLock) {
      for (const a of intervals) {
        for (const b of intervals) {
          if (a.runId >= b.runId) continue;
          const overlap = a.from < (b.to ?? Infinity) && b.from < (a.to ?? Infinity);
          if (overlap) {
            const build = (runId: string) => observation.runs.find((run) => run.runId === runId)?.buildNumber;
            violations.push({
              invariant: 'locks',
              detail: `${key} was held by runs #${build(a.runId)} and #${build(b.runId)} at once`,
            });
          }
        }
      }
    }
  }
  for (const lock of observation.locks) {
    if (lock.holder || lock.waiters.length) {
      violations.push({
        invariant: 'locks',
        detail: `${lock.key} is not free at rest: ${JSON.stringify(lock)}`,
      });
    }
  }
  if (observation.leftovers > 0) {
    violations.push({ invariant: 'processes', detail: `${observation.leftovers} step processes are left` });
  }
  return violations;
}

function checkFinal(
  run: RunRecord,
  final: StepRecord,
  observation: Observation,
  report: (invariant: string, detail: string, run?: RunRecord) => void,
) {
  const restarts = (run.notes ?? []).filter((note) => /; it runs again as attempt/.test(note.text)).length;
  const { world } = observation;
  if (world) {
    const tasks = world.of(run.runId, final.index);
    if (tasks.length === 0) return report('final', 'the final step never ran', run);
    // Every attempt but the last was killed before it finished (an attempt whose engine went away
    // between its Begin and its task never started a task at all), each restart is noted, and the
    // last one finished.
    tasks.slice(0, -1).forEach((task, i) => {
      if (task.end?.status)
        report('final', `attempt ${i + 1} finished, and yet the final step ran again`, run);
    });
    if (!tasks.at(-1)!.end?.status && final.status !== 'STOPPED') {
      const killed = observation.schedule.events.some((event) => event.kind === 'kill-step');
      if (!killed) report('final', 'the last attempt of the final step did not finish', run);
    }
    if (tasks.length > final.attempts || tasks.length < final.attempts - restarts) {
      report('final', `the record says ${final.attempts} attempts, ${tasks.length} ran`, run);
    }
    if (final.attempts - 1 !== restarts) {
      report('final', `${final.attempts - 1} re-runs, ${restarts} noted`, run);
    }
    // It starts once nothing else of its run runs.
    const mainEnds = Object.values(run.steps)
      .filter((step) => step.kind === 'step')
      .flatMap((step) => world.of(run.runId, step.index))
      .map((task) => task.endedAt ?? Infinity);
    const latest = Math.max(0, ...mainEnds);
    if (tasks[0]!.startedAt < latest) {
      report(
        'final',
        `the final step started ${latest - tasks[0]!.startedAt} ms before its run's last step ended`,
        run,
      );
    }
    return;
  }
  const lines = observation.markers[`${run.buildNumber}-${markerName(final.name)}`] ?? [];
  const starts = lines.filter((line) => line.startsWith('start'));
  // A final step stopped by an admin's stop, timed out (a scaled minute is short) or killed may go
  // before its script wrote a line.
  const cut =
    final.status === 'TIMED_OUT' ||
    (final.status === 'STOPPED' &&
      observation.stops.some((stop) => stop.runId === run.runId && stop.final)) ||
    observation.schedule.events.some((event) => event.kind === 'kill-step');
  if (starts.length === 0) {
    if (!cut) {
      const record = `${final.status}, exit ${final.exitCode}, ${final.attempts} attempts; notes: ${JSON.stringify(run.notes ?? [])}; its log ends: ${JSON.stringify(observation.finalLogs[run.runId] ?? '')}`;
      report('final', `the final step never ran (its record: ${record})`, run);
    }
    return;
  }
  // An attempt whose engine went away before its script began leaves no marker.
  if (starts.length > final.attempts || starts.length < final.attempts - restarts)
    report('final', `the record says ${final.attempts} attempts, ${starts.length} ran`, run);
  if (final.attempts - 1 !== restarts)
    report('final', `${final.attempts - 1} re-runs, ${restarts} noted`, run);
  if (lines.indexOf('end') !== -1 && lines.indexOf('end') < lines.lastIndexOf(starts.at(-1)!))
    report('final', 'an attempt finished, and yet the final step ran again', run);
}
