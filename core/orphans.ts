// Runs whose engine went away. The local server owns the runs it executes through a lease it keeps
// renewing; a run whose lease expired and that is not terminal is an orphan, which another instance
// claims with one conditional write (so exactly one does), then runs its final step.

import { ConditionFailedError, RunConflictError } from '../store/errors';
import type { RunRecord } from '../store/records';
import type { CoreDeps } from './deps';
import { retryOnConflict } from './retry';
import { requireRun } from './runs';

interface EngineLease {
  /** The engine instance (the local server's id). */
  readonly instance: string;
  readonly leaseSeconds: number;
}

/** Extends the lease of every unfinished run this instance owns; returns their ids. */
export async function renewEngineLeases(
  lease: EngineLease,
  deps: Pick<CoreDeps, 'store' | 'clock'>,
): Promise<string[]> {
  const leaseUntil = deps.clock.now() + lease.leaseSeconds * 1000;
  const owned = (await deps.store.runs.listUnfinished()).filter(
    (run) => run.engine?.instance === lease.instance,
  );
  const renewed: string[] = [];
  for (const run of owned) {
    try {
      await deps.store.runs.renewEngineLease(run.runId, lease.instance, leaseUntil);
      renewed.push(run.runId);
    } catch (error) {
      // Claimed by another instance, or finished meanwhile.
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  return renewed;
}

/**
 * Extends one run's lease: the instance's own upkeep, from memory. RunConflictError when another
 * instance took the run over, or it finished (its `current` says which).
 */
export function renewEngineLease(
  runId: string,
  instance: string,
  leaseUntil: number,
  deps: Pick<CoreDeps, 'store'>,
): Promise<RunRecord> {
  return deps.store.runs.renewEngineLease(runId, instance, leaseUntil);
}

/**
 * Hands a run's lease back at once (its engine is closing), so another instance adopts it without
 * waiting for the lease to run out. False when the run finished or was adopted meanwhile.
 */
export async function releaseEngineLease(
  runId: string,
  instance: string,
  deps: Pick<CoreDeps, 'store'>,
): Promise<boolean> {
  try {
    await deps.store.runs.renewEngineLease(runId, instance, 0);
    return true;
  } catch (error) {
    if (error instanceof RunConflictError) return false;
    throw error;
  }
}

/** Unfinished runs whose engine lease has expired. */
export async function findOrphans(deps: Pick<CoreDeps, 'store' | 'clock'>): Promise<RunRecord[]> {
  const now = deps.clock.now();
  return (await deps.store.runs.listUnfinished()).filter((run) => run.engine && run.engine.leaseUntil < now);
}

/**
 * Takes over an orphan: this instance becomes its engine, its outcome becomes ERROR/orphaned (a run
 * that Finale could not see through ends ERROR, whatever its steps did: they keep their own
 * statuses, and the note says what happened) and its RUNNING pipeline steps ERROR. A running final
 * step stays RUNNING: the recovery execution's Begin waits for it, or runs it again if it was killed.
 * undefined when it is not (or no longer) an orphan, e.g. another instance claimed it first. Ending
 * leftover processes and running the final step is the engine's job.
 */
export async function claimOrphan(
  runId: string,
  lease: EngineLease,
  deps: Pick<CoreDeps, 'store' | 'clock'>,
): Promise<RunRecord | undefined> {
  const run = await deps.store.runs.get(runId);
  const now = deps.clock.now();
  if (!run?.engine || run.engine.leaseUntil >= now || run.phase === 'done') return undefined;
  const interrupted = Object.values(run.steps).filter((step) => step.status === 'RUNNING');
  const erroredSteps = interrupted.filter((step) => step.kind === 'step').map((step) => step.index);
  const during = interrupted.length
    ? `during ${interrupted.map((step) => `"${step.name}"`).join(', ')}`
    : run.phase === 'final'
      ? 'on the final path'
      : 'between steps';
  const note = {
    at: now,
    text: `The engine running this run went away ${during} (its lease ended ${new Date(run.engine.leaseUntil).toISOString()}); engine ${lease.instance} took the run over: it ends ERROR once its final step has run`,
  };
  try {
    return await deps.store.runs.claimOrphan(runId, {
      engine: { instance: lease.instance, leaseUntil: now + lease.leaseSeconds * 1000 },
      now,
      erroredSteps,
      endedAt: now,
      note,
      expectedVersion: run.version,
    });
  } catch (error) {
    if (error instanceof ConditionFailedError) return undefined;
    throw error;
  }
}

/**
 * The execution of a run ended without finishing it (aborted from the console, or failed or timed
 * out in Step Functions itself): its outcome becomes ERROR/aborted, its RUNNING pipeline steps ERROR,
 * and a note says how the execution ended (`how`). The caller then starts a recovery execution
 * (`recover: true`) that runs the final step — unless it ran already — and releases the locks.
 * undefined when the run has finished after all.
 */
export async function markAborted(
  runId: string,
  how: string,
  deps: Pick<CoreDeps, 'store' | 'clock'>,
): Promise<RunRecord | undefined> {
  return retryOnConflict(`Run ${runId}: record the aborted execution`, async () => {
    const run = await requireRun(runId, deps);
    if (run.phase === 'done') return undefined;
    const now = deps.clock.now();
    return deps.store.runs.recordAbandoned(runId, {
      outcome: { status: 'ERROR', reason: 'aborted' },
      erroredSteps: Object.values(run.steps)
        .filter((step) => step.status === 'RUNNING' && step.kind === 'step')
        .map((step) => step.index),
      endedAt: now,
      note: {
        at: now,
        text: `Its execution ended outside Finale (${how}); a recovery execution finishes it: it ends ERROR once its final step has run`,
      },
      expectedVersion: run.version,
    });
  });
}
