// Lock handoff latency with N waiters queued: the time from the holder's release to the next
// waiter's task token being resumed (SendTaskSuccess), against the embedded DynamoDB (dynalite).
// Each iteration releases (handing over to the head waiter) and queues the released run again,
// so the queue stays at N; the vitest figure is that whole cycle, the printed median the handoff.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { type CoreDeps, createPlanSource } from '../core/deps';
import { acquireLock, releaseLock } from '../core/locks';
import { createRun } from '../core/runs';
import { localDocumentClient, startDynalite } from '../local/dynalite';
import { localVault } from '../local/vault';
import type { Plan } from '../statemachine/compiler/plan';
import { createStore } from '../store/store';
import type { Orchestrator } from '../vocabulary/contract';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const dynamo = await startDynalite();
const client = localDocumentClient(dynamo);
const clock = { now: () => Date.now() };
const store = createStore({ client, tables: dynamo.tables, clock });

/** Resumes tokens at once and notes when each handoff reached its waiter. */
class TimingOrchestrator implements Orchestrator {
  releasedAt = 0;
  readonly samples: number[] = [];
  async sendTaskSuccess(): Promise<'ok'> {
    if (this.releasedAt) this.samples.push(performance.now() - this.releasedAt);
    this.releasedAt = 0;
    return 'ok';
  }
  async sendTaskFailure(): Promise<'ok'> {
    return 'ok';
  }
}

const KEY = 'deployment:production';
const plan: Plan = {
  version: 1,
  pipeline: 'default',
  definition: { StartAt: 'S', States: { S: { Type: 'Succeed' } } },
  steps: [],
  locks: [{ key: KEY, kind: 'deployment', name: 'production', leaseSeconds: 3600, steps: [] }],
  stats: {
    states: 1,
    definitionBytes: 0,
    longestStateName: 1,
    happyPathTransitions: 0,
    transitionsPerStep: 0,
    worstCaseHistoryEvents: 0,
  },
  notes: [],
  hash: 'bench-locks',
};

async function queueOf(waiters: number) {
  const orchestrator = new TimingOrchestrator();
  const deps: CoreDeps = {
    store,
    orchestrator,
    tasks: {
      stopTask: async () => undefined,
      inspectTask: async () => ({ state: 'gone' }),
      tell: async () => undefined,
    },
    clock,
    // Locks never touch the vault: its key file is made only when a value is sealed.
    vault: localVault(join(tmpdir(), 'finale-bench-locks.key')),
    plans: createPlanSource(store),
  };
  const repository = `bench/queue-${waiters}`;
  const runIds: string[] = [];
  for (let i = 0; i <= waiters; i++) {
    const run = await createRun(
      { plan, repository, trigger: { kind: 'manual', ref: 'main', commit: 'c' }, startedBy: 'bench' },
      deps,
    );
    await store.runs.start(run.runId, clock.now());
    runIds.push(run.runId);
  }
  let token = 0;
  const enqueue = (runId: string) =>
    acquireLock({ repository, key: KEY, runId, step: 0, leaseSeconds: 3600, taskToken: `t${token++}` }, deps);
  for (const runId of runIds) await enqueue(runId);
  let holder = runIds[0]!;
  return {
    orchestrator,
    async cycle() {
      orchestrator.releasedAt = performance.now();
      const result = await releaseLock({ repository, key: KEY, runId: holder }, deps);
      const previous = holder;
      holder = result.handedTo!.runId;
      await enqueue(previous);
    },
  };
}

const queues = new Map<number, Awaited<ReturnType<typeof queueOf>>>();
for (const waiters of [1, 10, 50]) queues.set(waiters, await queueOf(waiters));

afterAll(async () => {
  for (const [waiters, queue] of queues) {
    const sorted = [...queue.orchestrator.samples].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    console.log(
      `lock handoff with ${waiters} waiters: median ${median.toFixed(2)} ms over ${sorted.length} handoffs`,
    );
  }
  client.destroy();
  await dynamo.close();
});

describe('lock handoff (release → next waiter resumed, then re-queue)', () => {
  for (const [waiters, queue] of queues) {
    bench(`${waiters} waiters`, () => queue.cycle(), { time: 2000, warmupIterations: 20 });
  }
});
