// Runs whose engine went away — a server that crashed, was killed, or handed its runs over when it
// stopped — are adopted by the next one. Their lease tells: a run whose owner no longer renews it is
// claimed (one conditional write, so exactly one instance does) once the lease has run out. Then,
// before anything else runs, what the dead engine left running is ended as a stop would end it: the
// supervisor gets its graceful stop, so Terraform still releases its lock and the after-script still
// runs; only then does a recovery execution run the final step (awaiting it if it still runs) and
// release the locks.

import type { Core } from '../core/index';
import { RunConflictError } from '../store/errors';
import type { Executions } from './executions';
import type { StepRunner } from './step-runner';

interface EngineIdentity {
  readonly instance: string;
  /** The repository whose runs it executes (and adopts). */
  readonly repository: string;
  /** Seconds a run's lease lasts without renewal. */
  readonly leaseSeconds: number;
}

export class OrphanAdopter {
  private readonly waiting = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly engine: EngineIdentity,
    private readonly core: Core,
    private readonly runner: Pick<StepRunner, 'endLeftovers'>,
    private readonly executions: Executions,
    /** Runs `work` after whatever upkeep is in flight (upkeep is serialised). */
    private readonly schedule: (work: () => Promise<void>) => void,
  ) {}

  /** Claims every orphan whose lease has run out, and comes back for those whose lease runs still. */
  async sweep(): Promise<void> {
    for (const run of await this.core.listUnfinishedRuns()) {
      if (
        run.repository !== this.engine.repository ||
        this.executions.has(run.runId) ||
        !run.engine ||
        run.engine.instance === this.engine.instance
      )
        continue;
      const left = run.engine.leaseUntil - Date.now();
      if (left >= 0) {
        this.comeBack(run.runId, left);
        continue;
      }
      const claimed = await this.core.claimOrphan(run.runId, this.engine);
      if (!claimed) continue;
      const plan = await this.core.getPlan(claimed.planHash);
      this.executions.start(claimed, plan, {
        recover: true,
        before: () => this.runner.endLeftovers(claimed, plan),
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
        await core.renewEngineLease(runId, engine.instance, leaseUntil);
      } catch (error) {
        if (!(error instanceof RunConflictError)) throw error;
        const current = error.current;
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
