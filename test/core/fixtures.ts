// Plans and runs for core tests, built by hand so each test states exactly the specs it relies on,
// plus a harness wiring the core to a real dynalite and the recording fakes.

import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CoreDeps, createPlanSource } from '../../core/deps';
import { createRun } from '../../core/runs';
import { localVault } from '../../local/vault';
import type { LockSpec, Plan, StepSpec } from '../../statemachine/compiler/plan';
import type { RunRecord } from '../../store/records';
import type { Caller } from '../../vocabulary/contract';
import { ManualClock, type TestDynalite, useDynalite } from '../support/dynalite';
import { FakeOrchestrator, FakeTasks } from './fakes';

export function stepSpec(index: number, overrides: Partial<StepSpec> = {}): StepSpec {
  const name = overrides.name ?? `Step ${index + 1}`;
  return {
    index,
    name,
    stateName: name,
    kind: 'step',
    image: { name: 'alpine:3.20' },
    size: '1x',
    cpu: 1024,
    memory: 4096,
    maxTimeMinutes: 120,
    stop: { graceful: true, signal: 'TERM', graceSeconds: 30 },
    script: ['true'],
    afterScript: [],
    environment: {},
    trigger: 'automatic',
    locks: [],
    artifacts: { paths: [], download: true },
    outputVariables: [],
    onFail: { strategy: 'fail', maxRetryCount: 0 },
    clone: { enabled: true, lfs: false },
    caches: [],
    services: [],
    skipped: false,
    ...overrides,
  };
}

/** A plan with the given steps (index = position) and locks; a unique hash per plan. */
export function planOf(steps: readonly Partial<StepSpec>[], locks: readonly LockSpec[] = []): Plan {
  return {
    version: 1,
    pipeline: 'branches:main',
    definition: { StartAt: 'Start', States: { Start: { Type: 'Succeed' } } },
    steps: steps.map((step, index) => stepSpec(index, step)),
    locks,
    stats: {
      states: 1,
      definitionBytes: 60,
      longestStateName: 5,
      happyPathTransitions: 3,
      transitionsPerStep: 3,
      worstCaseHistoryEvents: 10,
    },
    notes: [],
    hash: `test-${randomUUID()}`,
  };
}

export const deployLock = (env = 'production', steps: number[] = [0]): LockSpec => ({
  key: `deployment:${env}`,
  kind: 'deployment',
  name: env,
  leaseSeconds: 3600,
  steps,
});

export interface Harness {
  readonly db: TestDynalite;
  readonly clock: ManualClock;
  readonly orchestrator: FakeOrchestrator;
  readonly tasks: FakeTasks;
  readonly deps: CoreDeps;
  /** A fresh repository name, so tests in one file never see each other's runs, locks or settings. */
  repository(): string;
  newRun(
    plan: Plan,
    options?: { repository?: string; startedBy?: string; engine?: RunRecord['engine'] },
  ): Promise<RunRecord>;
  /** Resets the fakes between tests. */
  reset(): void;
}

/** Registers a dynalite for the calling file; `deps` uses a ManualClock and fresh fakes per test. */
export function useCoreHarness(): Harness {
  const clock = new ManualClock();
  const db = useDynalite({ clock });
  let orchestrator = new FakeOrchestrator();
  let tasks = new FakeTasks({ get: (runId) => db.store.runs.get(runId) });
  let plans: CoreDeps['plans'] | undefined;
  // The real local vault, its key made on first use under this run's temporary directory.
  const vault = localVault(join(tmpdir(), `finale-core-${randomUUID()}`, 'variables.key'));
  const deps = (): CoreDeps => {
    plans ??= createPlanSource(db.store);
    return { store: db.store, orchestrator, tasks, clock, plans, vault };
  };
  return {
    db,
    clock,
    get orchestrator() {
      return orchestrator;
    },
    get tasks() {
      return tasks;
    },
    get deps() {
      return deps();
    },
    repository: () => `acme/app-${randomUUID().slice(0, 8)}`,
    newRun(plan, options = {}) {
      return createRun(
        {
          plan,
          repository: options.repository ?? `acme/app-${randomUUID().slice(0, 8)}`,
          trigger: { kind: 'branch', ref: 'main', commit: 'c0ffee' },
          startedBy: options.startedBy ?? 'alice',
          variables: {},
          ...(options.engine ? { engine: options.engine } : {}),
        },
        deps(),
      );
    },
    reset() {
      orchestrator = new FakeOrchestrator();
      tasks = new FakeTasks({ get: (runId) => db.store.runs.get(runId) });
    },
  };
}

export const alice: Caller = { user: 'alice' };
export const bob: Caller = { user: 'bob' };
