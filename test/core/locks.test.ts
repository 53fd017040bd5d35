import { beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, forceUnlock, listLocks, releaseLock } from '../../core/locks';
import type { RunRecord } from '../../store/records';
import type { FinaleError } from '../../vocabulary/errors';
import { alice, bob, deployLock, planOf, useCoreHarness } from './fixtures';

const h = useCoreHarness();
beforeEach(() => h.reset());

const lock = deployLock('production', [0]);
const key = lock.key;

/** `count` RUNNING runs of one plan in a fresh repository. */
async function runs(count: number): Promise<{ repository: string; runs: RunRecord[] }> {
  const repository = h.repository();
  const plan = planOf([{ locks: [key] }], [lock]);
  const created: RunRecord[] = [];
  for (let i = 0; i < count; i++) {
    const run = await h.newRun(plan, { repository });
    created.push(await h.db.store.runs.start(run.runId, h.clock.now()));
  }
  return { repository, runs: created };
}

const acquire = (repository: string, runId: string, taskToken: string, leaseSeconds = 3600) =>
  acquireLock({ repository, key, runId, step: 0, leaseSeconds, taskToken }, h.deps);
const release = (repository: string, runId: string, fence?: number) =>
  releaseLock({ repository, key, runId, ...(fence !== undefined ? { fence } : {}) }, h.deps);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Grant {
  readonly runId: string;
  readonly fence: number;
  readonly grantedAt: number;
  releasedAt?: number;
}

/**
 * Simulates holders: when a run's token is resumed it holds the lock for a few milliseconds (after
 * `gate` opens), then releases it. Records the holder history and fails on two holders at once.
 */
function simulateHolders(repository: string, all: readonly RunRecord[], gate: Promise<void>) {
  const grants: Grant[] = [];
  const violations: string[] = [];
  let holder: string | undefined;
  let finished = 0;
  let done!: () => void;
  const allDone = new Promise<void>((resolve) => {
    done = resolve;
  });
  for (const run of all) {
    h.orchestrator.onSuccess(`tok-${run.runId}`, (output) => {
      const { fence } = output as { fence: number };
      if (holder !== undefined) violations.push(`${run.runId} granted while ${holder} holds`);
      holder = run.runId;
      const grant: Grant = { runId: run.runId, fence, grantedAt: performance.now() };
      grants.push(grant);
      void (async () => {
        await gate;
        await sleep(Math.random() * 3);
        grant.releasedAt = performance.now();
        holder = undefined;
        await release(repository, run.runId, fence);
        if (++finished === all.length) done();
      })();
    });
  }
  return { grants, violations, allDone };
}

function expectSerialHistory(grants: readonly Grant[], count: number) {
  expect(grants).toHaveLength(count);
  expect(new Set(grants.map((grant) => grant.runId)).size).toBe(count);
  for (let i = 1; i < grants.length; i++) {
    expect(grants[i]!.fence).toBeGreaterThan(grants[i - 1]!.fence);
    expect(grants[i]!.grantedAt).toBeGreaterThanOrEqual(grants[i - 1]!.releasedAt!);
  }
}

describe('locks under contention', () => {
  it('serves 20 concurrent acquirers one at a time, in FIFO order, with increasing fences', async () => {
    const { repository, runs: all } = await runs(20);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const sim = simulateHolders(repository, all, gate);
    const results = await Promise.all(all.map((run) => acquire(repository, run.runId, `tok-${run.runId}`)));
    expect(results.filter((result) => result.state === 'held')).toEqual([{ state: 'held', fence: 1 }]);
    expect(
      results
        .filter((result) => result.state === 'queued')
        .map((result) => (result as { position: number }).position)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));

    // The queue as the store ordered it is the order the lock must be handed over in.
    const queued = (await h.db.store.locks.get(repository, key))!;
    const order = [queued.holder!.runId, ...queued.waiters.map((waiter) => waiter.runId)];
    open();
    await sim.allDone;

    expect(sim.violations).toEqual([]);
    expectSerialHistory(sim.grants, 20);
    expect(sim.grants.map((grant) => grant.runId)).toEqual(order);
    expect(sim.grants.map((grant) => grant.fence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const after = await h.db.store.locks.get(repository, key);
    expect(after).toMatchObject({ fence: 20, waiters: [] });
    expect(after?.holder).toBeUndefined();
    for (const run of all) expect((await h.db.store.runs.get(run.runId))?.locks).toEqual({});
    // Each token was resumed exactly once.
    expect(h.orchestrator.successes()).toHaveLength(20);
  });

  it('never has two holders when acquires and releases interleave freely', async () => {
    const { repository, runs: all } = await runs(20);
    const sim = simulateHolders(repository, all, Promise.resolve());
    await Promise.all(
      all.map(async (run, i) => {
        await sleep(i % 5);
        await acquire(repository, run.runId, `tok-${run.runId}`);
      }),
    );
    await sim.allDone;
    expect(sim.violations).toEqual([]);
    expectSerialHistory(sim.grants, 20);
    expect((await h.db.store.locks.get(repository, key))?.holder).toBeUndefined();
  });
});

describe('lock protocol', () => {
  it('refreshes a queued waiter token in place, and a holder lease on a re-call', async () => {
    const {
      repository,
      runs: [a, b, c],
    } = await runs(3);
    await acquire(repository, a!.runId, 'a1', 60);
    await acquire(repository, b!.runId, 'b1');
    await acquire(repository, c!.runId, 'c1');
    expect(await acquire(repository, b!.runId, 'b2')).toEqual({ state: 'queued', position: 1 });
    const queued = await h.db.store.locks.get(repository, key);
    expect(queued?.waiters.map((waiter) => [waiter.runId, waiter.taskToken])).toEqual([
      [b!.runId, 'b2'],
      [c!.runId, 'c1'],
    ]);
    h.clock.advance(30_000);
    expect(await acquire(repository, a!.runId, 'a2', 60)).toEqual({ state: 'held', fence: 1 });
    expect((await h.db.store.locks.get(repository, key))?.holder).toMatchObject({
      runId: a!.runId,
      fence: 1,
      leaseUntil: h.clock.now() + 60_000,
    });
    expect(h.orchestrator.successes().map((call) => call.token)).toEqual(['a1', 'a2']);
  });

  it('lets the head waiter take over an expired lease when its wait re-calls acquire', async () => {
    const {
      repository,
      runs: [a, b],
    } = await runs(2);
    await acquire(repository, a!.runId, 'a', 60);
    await acquire(repository, b!.runId, 'b1');
    h.clock.advance(60_000);
    expect(await acquire(repository, b!.runId, 'b2')).toEqual({ state: 'queued', position: 1 });
    h.clock.advance(1);
    expect(await acquire(repository, b!.runId, 'b3')).toEqual({ state: 'held', fence: 2 });
    expect(h.orchestrator.successes().map((call) => [call.token, call.output])).toEqual([
      ['a', { fence: 1 }],
      ['b3', { fence: 2 }],
    ]);
    // The crashed holder's late release changes nothing: its fence is stale.
    expect(await release(repository, a!.runId, 1)).toEqual({ released: false, skipped: [] });
    expect((await h.db.store.locks.get(repository, key))?.holder).toMatchObject({
      runId: b!.runId,
      fence: 2,
    });
    expect((await h.db.store.runs.get(a!.runId))?.locks).toEqual({});
    expect((await h.db.store.runs.get(b!.runId))?.locks[key]).toEqual({ fence: 2, since: h.clock.now() });
  });

  it('hands an expired lease to the head waiter before a newcomer queues', async () => {
    const {
      repository,
      runs: [a, b, c],
    } = await runs(3);
    await acquire(repository, a!.runId, 'a', 60);
    await acquire(repository, b!.runId, 'b');
    h.clock.advance(61_000);
    expect(await acquire(repository, c!.runId, 'c')).toEqual({ state: 'queued', position: 1 });
    const after = await h.db.store.locks.get(repository, key);
    expect(after?.holder).toMatchObject({ runId: b!.runId, fence: 2 });
    expect(after?.waiters.map((waiter) => waiter.runId)).toEqual([c!.runId]);
    expect(h.orchestrator.successes('b')).toHaveLength(1);
  });

  it('lets a newcomer take an expired lease when nobody waits', async () => {
    const {
      repository,
      runs: [a, b],
    } = await runs(2);
    await acquire(repository, a!.runId, 'a', 60);
    h.clock.advance(61_000);
    expect(await acquire(repository, b!.runId, 'b')).toEqual({ state: 'held', fence: 2 });
  });

  it('skips a waiter whose token is gone', async () => {
    const {
      repository,
      runs: [a, b, c],
    } = await runs(3);
    await acquire(repository, a!.runId, 'a');
    await acquire(repository, b!.runId, 'b');
    await acquire(repository, c!.runId, 'c');
    h.orchestrator.expire('b');
    const result = await release(repository, a!.runId);
    expect(result).toEqual({ released: true, handedTo: { runId: c!.runId, fence: 3 }, skipped: [b!.runId] });
    expect((await h.db.store.locks.get(repository, key))?.holder).toMatchObject({
      runId: c!.runId,
      fence: 3,
    });
    expect((await h.db.store.runs.get(b!.runId))?.locks).toEqual({});
    expect((await h.db.store.runs.get(c!.runId))?.locks[key]?.fence).toBe(3);
  });

  it('releases the lock when every waiter is gone', async () => {
    const {
      repository,
      runs: [a, b],
    } = await runs(2);
    await acquire(repository, a!.runId, 'a');
    await acquire(repository, b!.runId, 'b');
    h.orchestrator.expire('b');
    expect(await release(repository, a!.runId)).toEqual({ released: true, skipped: [b!.runId] });
    const after = await h.db.store.locks.get(repository, key);
    expect(after?.holder).toBeUndefined();
    expect(after?.waiters).toEqual([]);
  });

  it('does not skip a waiter that re-called acquire with a fresh token during the handover', async () => {
    const {
      repository,
      runs: [a, b, c],
    } = await runs(3);
    await acquire(repository, a!.runId, 'a');
    await acquire(repository, b!.runId, 'b1');
    await acquire(repository, c!.runId, 'c');
    h.orchestrator.expire('b1');
    // B's wait timed out; its retry arrives while the releaser is resuming the old token.
    h.orchestrator.intercept('b1', async () => {
      expect(await acquire(repository, b!.runId, 'b2')).toEqual({ state: 'held', fence: 2 });
    });
    const result = await release(repository, a!.runId);
    expect(result.skipped).toEqual([]);
    expect((await h.db.store.locks.get(repository, key))?.holder).toMatchObject({
      runId: b!.runId,
      fence: 2,
    });
    expect(h.orchestrator.successes('b2')).toHaveLength(1);
    expect(h.orchestrator.successes('c')).toHaveLength(0);
    expect((await h.db.store.runs.get(b!.runId))?.locks[key]?.fence).toBe(2);
  });

  it('releases idempotently and ignores releases by runs that do not hold the lock', async () => {
    const {
      repository,
      runs: [a, b],
    } = await runs(2);
    await acquire(repository, a!.runId, 'a');
    expect(await release(repository, b!.runId)).toEqual({ released: false, skipped: [] });
    expect(await release(repository, a!.runId, 7)).toEqual({ released: false, skipped: [] });
    expect(await release(repository, a!.runId, 1)).toEqual({ released: true, skipped: [] });
    expect(await release(repository, a!.runId, 1)).toEqual({ released: false, skipped: [] });
    await acquire(repository, b!.runId, 'b');
    expect(await release(repository, a!.runId)).toEqual({ released: false, skipped: [] });
    expect((await h.db.store.locks.get(repository, key))?.holder?.runId).toBe(b!.runId);
  });

  it('lets an admin force-unlock, audited, handing over to the next waiter', async () => {
    const {
      repository,
      runs: [a, b],
    } = await runs(2);
    await h.db.store.settings.update(repository, { admins: ['alice'] });
    await acquire(repository, a!.runId, 'a');
    await acquire(repository, b!.runId, 'b');

    const refused = await forceUnlock({ repository, key, caller: bob }, h.deps).catch((e: FinaleError) => e);
    expect(refused).toMatchObject({ name: 'NotAllowed', exitCode: 3 });
    expect((refused as FinaleError).message).toContain('alice');

    h.clock.advance(5);
    const result = await forceUnlock({ repository, key, caller: alice, reason: 'runner died' }, h.deps);
    expect(result).toMatchObject({
      released: true,
      handedTo: { runId: b!.runId, fence: 2 },
      holder: { runId: a!.runId, fence: 1 },
    });
    expect(h.orchestrator.successes('b')).toHaveLength(1);
    expect((await h.db.store.runs.get(a!.runId))?.locks).toEqual({});
    const [entry] = await h.db.store.audit.list(repository, { limit: 1 });
    expect(entry).toMatchObject({
      action: 'unlock',
      by: 'alice',
      runId: a!.runId,
      at: h.clock.now(),
      detail: { key, fence: 1, reason: 'runner died', handedTo: b!.runId },
    });
    // The old holder's release is now a no-op.
    expect((await release(repository, a!.runId, 1)).released).toBe(false);
    expect((await h.db.store.locks.get(repository, key))?.holder?.runId).toBe(b!.runId);

    await release(repository, b!.runId);
    await expect(forceUnlock({ repository, key, caller: alice }, h.deps)).rejects.toMatchObject({
      name: 'NotFound',
      exitCode: 4,
    });
  });

  it('lists locks without task tokens, flagging expired leases', async () => {
    const {
      repository,
      runs: [a, b],
    } = await runs(2);
    await acquire(repository, a!.runId, 'secret-a', 60);
    await acquire(repository, b!.runId, 'secret-b');
    h.clock.advance(61_000);
    const [view] = await listLocks(repository, h.deps);
    expect(view).toEqual({
      repository,
      key,
      fence: 1,
      holder: {
        runId: a!.runId,
        step: 0,
        fence: 1,
        since: h.clock.now() - 61_000,
        leaseUntil: h.clock.now() - 1000,
        expired: true,
      },
      waiters: [{ runId: b!.runId, step: 0, since: h.clock.now() - 61_000 }],
    });
    expect(JSON.stringify(view)).not.toContain('secret');
  });
});
