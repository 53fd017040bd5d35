// What the core functions need, injected by each engine: the store, the task-token API, the task
// stopper, a clock, plans by hash, and the vault of secured values.

import type { Plan } from '../statemachine/compiler/plan';
import type { PipelineCompiler } from '../statemachine/pipelines';
import type { Store } from '../store/store';
import type { Clock, Orchestrator, TaskControl } from '../vocabulary/contract';
import { FinaleError } from '../vocabulary/errors';
import type { SecretVault } from './ports';

export interface PlanSource {
  get(planHash: string): Promise<Plan>;
}

export interface CoreDeps {
  readonly store: Store;
  readonly orchestrator: Orchestrator;
  readonly tasks: TaskControl;
  readonly clock: Clock;
  readonly plans: PlanSource;
  readonly vault: SecretVault;
  /** Only where runs start (the webhook, the API, the local engine): the language and the compiler. */
  readonly pipelines?: PipelineCompiler;
}

/** Plans by hash from the store, cached: a plan never changes once stored. */
export function createPlanSource(store: Store, options: { maxEntries?: number } = {}): PlanSource {
  const maxEntries = options.maxEntries ?? 50;
  const cache = new Map<string, Promise<Plan>>();
  return {
    get(planHash) {
      let plan = cache.get(planHash);
      if (!plan) {
        plan = store.plans.get(planHash).then((found) => {
          if (!found) throw new FinaleError(`Plan ${planHash} is not in the store`);
          return found;
        });
        plan.catch(() => cache.delete(planHash));
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
        cache.set(planHash, plan);
      }
      return plan;
    },
  };
}
