// Creating runs, and reading one that must exist.

import { randomUUID } from 'node:crypto';
import type { Plan } from '../statemachine/compiler/plan';
import type { RunRecord, StepRecord, TriggerRecord } from '../store/records';
import type { CoreDeps } from './deps';
import { NotFoundError } from './failures';

interface CreateRunRequest {
  readonly plan: Plan;
  readonly repository: string;
  readonly trigger: TriggerRecord;
  readonly startedBy: string;
  readonly variables?: Readonly<Record<string, string>>;
  /** The local engine instance that will execute it, with its lease. */
  readonly engine?: RunRecord['engine'];
  /** The run's id, when its caller needs it first (the local engine puts the checkout in place). */
  readonly runId?: string;
}

/**
 * A new run: the next build number of the repository, the plan stored by its hash, every step
 * PENDING (SKIPPED when a changeset condition excluded it), status PENDING. Audited as `start`.
 */
export async function createRun(
  request: CreateRunRequest,
  deps: Pick<CoreDeps, 'store' | 'clock'>,
): Promise<RunRecord> {
  const { store, clock } = deps;
  const { plan } = request;
  const [buildNumber] = await Promise.all([store.counters.next(request.repository), store.plans.put(plan)]);
  const steps: Record<string, StepRecord> = {};
  for (const spec of plan.steps) {
    steps[String(spec.index)] = {
      index: spec.index,
      name: spec.name,
      kind: spec.kind,
      status: spec.skipped ? 'SKIPPED' : 'PENDING',
      attempts: 0,
    };
  }
  const now = clock.now();
  const run: RunRecord = {
    runId: request.runId ?? randomUUID(),
    repository: request.repository,
    buildNumber,
    pipeline: plan.pipeline,
    planHash: plan.hash,
    trigger: request.trigger,
    status: 'PENDING',
    phase: 'main',
    startedBy: request.startedBy,
    createdAt: now,
    variables: request.variables ?? {},
    outputs: {},
    securedOutputs: {},
    steps,
    locks: {},
    ...(request.engine ? { engine: request.engine } : {}),
    version: 1,
  };
  await store.runs.create(run);
  await store.audit.append({
    repository: run.repository,
    at: now,
    by: run.startedBy,
    action: 'start',
    runId: run.runId,
    detail: { buildNumber, pipeline: run.pipeline, ref: run.trigger.ref, commit: run.trigger.commit },
  });
  return run;
}

export async function requireRun(runId: string, deps: Pick<CoreDeps, 'store'>): Promise<RunRecord> {
  const run = await deps.store.runs.get(runId);
  if (!run) throw new NotFoundError(`No run with id ${runId}`);
  return run;
}
