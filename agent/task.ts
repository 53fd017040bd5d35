// What the step task knows about itself: the overrides the state machine sets on the agent container
// (run, step, plan), and the step's spec and run, fetched from the store.

import { braceUuid, type RepositoryIdentity } from '../core/variables';
import type { Plan, StepSpec } from '../statemachine/compiler/plan';
import { TASK_ENV } from '../statemachine/compiler/plan';
import type { RunRecord } from '../store/records';
import type { Store } from '../store/store';
import { FinaleError } from '../vocabulary/errors';

export interface TaskIdentity {
  readonly runId: string;
  readonly step: number;
  readonly planHash: string;
}

export function taskIdentity(env: NodeJS.ProcessEnv = process.env): TaskIdentity {
  const runId = env[TASK_ENV.runId];
  const step = Number(env[TASK_ENV.step]);
  const planHash = env[TASK_ENV.plan];
  if (!runId || !planHash || !Number.isInteger(step) || step < 0) {
    throw new FinaleError(
      `the step task needs ${TASK_ENV.runId}, ${TASK_ENV.step} and ${TASK_ENV.plan} (container overrides set by the state machine)`,
    );
  }
  return { runId, step, planHash };
}

interface StepContext {
  readonly plan: Plan;
  readonly spec: StepSpec;
  readonly run: RunRecord;
}

export async function loadStep(
  task: TaskIdentity,
  store: Pick<Store, 'plans' | 'runs'>,
): Promise<StepContext> {
  const [plan, run] = await Promise.all([store.plans.get(task.planHash), store.runs.get(task.runId)]);
  if (!plan) throw new FinaleError(`plan ${task.planHash} is not in the plans table`);
  if (!run) throw new FinaleError(`run ${task.runId} is not in the runs table`);
  const spec = plan.steps[task.step];
  if (!spec) throw new FinaleError(`plan ${task.planHash} has no step ${task.step}`);
  return { plan, spec, run };
}

export function repositoryIdentity(repository: string): RepositoryIdentity {
  const [workspace = repository, slug = repository] = repository.split('/');
  return { workspace, slug, uuid: braceUuid('repository', repository) };
}

/** Steps whose artifacts this step sees: those before it (before its group, for a parallel step). */
export function earlierSteps(steps: readonly StepSpec[], spec: StepSpec): StepSpec[] {
  const first = spec.group?.kind === 'parallel' ? spec.index - spec.group.index : spec.index;
  return steps.filter((step) => step.index < first && !step.skipped);
}
