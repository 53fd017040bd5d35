// Runs whose engine went away — a server that crashed, was killed, or handed its runs over when it
// stopped — are adopted by the next one. Their lease tells: a run whose owner no longer renews it is
// claimed (one conditional write, so exactly one instance does) once the lease has run out. Then,
// before anything else runs, what the dead engine left running is ended as a stop would end it: the
// supervisor gets its graceful stop, so Terraform still releases its lock and the after-script still
// runs; only then does a recovery execution run the final step (awaiting it if it still runs) and
// release the locks.

import type { Core } from '../core/index';
import type { Plan } from '../statemachine/compiler/plan';
import { AFTER_SCRIPT_SECONDS } from '../statemachine/compiler/specs';
import { ConditionFailedError } from '../store/errors';
import type { RunRecord } from '../store/records';
import type { Executions } from './executions';
import type { FinalePaths } from './paths';
import { controlDirs, endStep } from './step-processes';

export interface EngineIdentity {
  readonly instance: string;
  /** Seconds a run's lease lasts without renewal. */
  readonly leaseSeconds: number;
}

/** How long a leftover step may take to stop: its grace and its after-script, and a margin. */
function stopBudgetMs(spec: Plan['steps'][number]): number {
  const grace = spec.stop.graceful ? spec.stop.graceSeconds : 0;
  return (grace + AFTER_SCRIPT_SECONDS + 10) * 1000;
}

/**
 * Ends the pipeline steps an orphan left running (its final step is the recovery's to await) and
 * notes what became of each.
 */
export async function endLeftovers(
  run: RunRecord,
  plan: Plan,
  paths: FinalePaths,
  core: Core,
): Promise<void> {
  const mode = run.stop?.mode === 'immediate' ? 'immediate' : 'graceful';
  const dirs = await controlDirs(paths, run.runId);
  await Promise.all(
    [...dirs].map(async ([index, dir]) => {
      const spec = plan.steps[index];
      if (!spec || spec.kind === 'final') return;
      const ended = await endStep(dir, mode, stopBudgetMs(spec));
      if (ended === 'none') return;
      const how =
        ended === 'ended'
          ? mode === 'graceful'
            ? 'was stopped gracefully (the stop signal, the grace, its after-script)'
            : 'was stopped immediately'
          : `did not end within ${stopBudgetMs(spec) / 1000}s of the stop and was killed`;
      await core.deps.store.runs.addNote(run.runId, {
        at: core.deps.clock.now(),
        text: `"${spec.name}" was still running when its engine went away: it ${how}`,
      });
    }),
  );
}

export class OrphanAdopter {
  private readonly waiting = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly engine: EngineIdentity,
    private readonly core: Core,
    private readonly paths: FinalePaths,
    private readonly executions: Executions,
    /** Runs `work` after whatever upkeep is in flight (upkeep is serialised). */
    private readonly schedule: (work: () => Promise<void>) => void,
  ) {}

  /** Claims every orphan whose lease has run out, and comes back for those whose lease runs still. */
  async sweep(): Promise<void> {
    for (const run of await this.core.deps.store.runs.listUnfinished()) {
      if (this.executions.has(run.runId) || !run.engine || run.engine.instance === this.engine.instance)
        continue;
      const left = run.engine.leaseUntil - Date.now();
      if (left >= 0) {
        this.comeBack(run.runId, left);
        continue;
      }
      const claimed = await this.core.claimOrphan(run.runId, this.engine);
      if (!claimed) continue;
      const plan = await this.core.deps.plans.get(claimed.planHash);
      this.executions.start(claimed, plan, {
        recover: true,
        before: () => endLeftovers(claimed, plan, this.paths, this.core),
      });
    }
  }

  private comeBack(runId: string, afterMs: number): void {
    if (this.waiting.has(runId)) return;
    const timer = setTimeout(() => {
      this.waiting.delete(runId);
      this.schedule(() => this.sweep());
    }, afterMs + 50);
    timer.unref();
    this.waiting.set(runId, timer);
  }

  close(): void {
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }
}

/**
 * Extends the leases of this instance's runs, from memory (no table scan on the hot path). A run whose
 * lease another instance took is no longer this one's: its execution is fenced at once.
 */
export async function renewLeases(engine: EngineIdentity, core: Core, executions: Executions): Promise<void> {
  const leaseUntil = Date.now() + engine.leaseSeconds * 1000;
  await Promise.all(
    executions.ids().map(async (runId) => {
      try {
        await core.deps.store.runs.renewEngineLease(runId, engine.instance, leaseUntil);
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
        const current = error.current as RunRecord | undefined;
        // Finished meanwhile: its execution is about to end by itself.
        if (current && current.phase !== 'done') {
          console.error(
            `finale: run ${runId} was taken over by engine ${current.engine?.instance}; stopping here`,
          );
          executions.fence(runId);
        }
      }
    }),
  );
}
