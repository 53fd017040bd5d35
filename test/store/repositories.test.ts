import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ConditionFailedError } from '../../store/errors';
import { DEFAULT_SETTINGS, type LockRecord } from '../../store/records';
import { planOf } from '../core/fixtures';
import { ManualClock, useDynalite } from '../support/dynalite';

const clock = new ManualClock();
const db = useDynalite({ clock });
const repo = () => `acme/repo-${randomUUID().slice(0, 8)}`;

describe('counters', () => {
  it('hands out build numbers 1, 2, 3… atomically under concurrency, per repository', async () => {
    const a = repo();
    const b = repo();
    const numbers = await Promise.all(Array.from({ length: 30 }, () => db.store.counters.next(a)));
    expect([...numbers].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await db.store.counters.next(b)).toBe(1);
  });
});

describe('settings', () => {
  it('gives defaults until set, and merges changes key by key', async () => {
    const r = repo();
    expect(await db.store.settings.get(r)).toEqual(DEFAULT_SETTINGS);
    await Promise.all([
      db.store.settings.update(r, { stopTimeout: 120 }),
      db.store.settings.update(r, { stopPolicy: 'admins' }),
      db.store.settings.update(r, { admins: ['alice', 'bob'] }),
    ]);
    expect(await db.store.settings.get(r)).toEqual({
      ...DEFAULT_SETTINGS,
      stopTimeout: 120,
      stopPolicy: 'admins',
      admins: ['alice', 'bob'],
    });
    expect(await db.store.settings.get(repo())).toEqual(DEFAULT_SETTINGS);
  });
});

describe('audit', () => {
  it('appends entries and lists them newest first, even within one millisecond', async () => {
    const r = repo();
    await db.store.audit.append({
      repository: r,
      at: 1000,
      by: 'alice',
      action: 'start',
      runId: 'r1',
      detail: { n: 1 },
    });
    await db.store.audit.append({
      repository: r,
      at: 3000,
      by: 'bob',
      action: 'stop',
      runId: 'r1',
      detail: { mode: 'graceful' },
    });
    await db.store.audit.append({
      repository: r,
      at: 3000,
      by: 'carol',
      action: 'settings',
      detail: { key: 'admins' },
    });
    await db.store.audit.append({
      repository: r,
      at: 2000,
      by: 'dave',
      action: 'approve',
      runId: 'r1',
      detail: {},
    });
    const entries = await db.store.audit.list(r);
    expect(entries.map((entry) => entry.at)).toEqual([3000, 3000, 2000, 1000]);
    expect(
      entries
        .slice(0, 2)
        .map((entry) => entry.by)
        .sort(),
    ).toEqual(['bob', 'carol']);
    expect(entries[3]).toEqual({
      repository: r,
      at: 1000,
      by: 'alice',
      action: 'start',
      runId: 'r1',
      detail: { n: 1 },
    });
    expect(await db.store.audit.list(r, { limit: 1 })).toHaveLength(1);
  });
});

describe('plans', () => {
  it('stores a plan gzipped in a binary attribute and reads it back', async () => {
    const plan = planOf(
      Array.from({ length: 100 }, (_, i) => ({ name: `Step ${i}`, script: [`echo ${'x'.repeat(500)}`] })),
    );
    await db.store.plans.put(plan);
    expect(await db.store.plans.get(plan.hash)).toEqual(plan);
    const raw = await db.client.send(
      new GetCommand({ TableName: db.tables.plans, Key: { planHash: plan.hash } }),
    );
    expect(raw.Item?.plan).toBeInstanceOf(Uint8Array);
    expect((raw.Item!.plan as Uint8Array).byteLength).toBeLessThan(JSON.stringify(plan).length / 5);
    // Plans are immutable: storing the same hash again keeps the first.
    await db.store.plans.put({ ...plan, pipeline: 'changed' });
    expect((await db.store.plans.get(plan.hash))?.pipeline).toBe(plan.pipeline);
    expect(await db.store.plans.get('missing')).toBeUndefined();
  });
});

describe('deliveries', () => {
  it('marks a delivery once, and again only after it expired', async () => {
    const id = randomUUID();
    expect(await db.store.deliveries.markSeen(id, 60)).toBe(true);
    expect(await db.store.deliveries.markSeen(id, 60)).toBe(false);
    clock.advance(59_000);
    expect(await db.store.deliveries.markSeen(id, 60)).toBe(false);
    clock.advance(2_000);
    expect(await db.store.deliveries.markSeen(id, 60)).toBe(true);
  });
});

describe('locks', () => {
  const base = (repository: string): Omit<LockRecord, 'lockKey' | 'version'> => ({
    repository,
    key: 'deployment:prod',
    fence: 0,
    waiters: [],
  });

  it('creates a lock item once and then writes only at the version read', async () => {
    const r = repo();
    const created = await db.store.locks.write(base(r), { expectedVersion: 0 });
    expect(created).toMatchObject({ lockKey: `${r}#deployment:prod`, version: 1 });
    await expect(db.store.locks.write(base(r), { expectedVersion: 0 })).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    const held = { runId: 'r1', step: 0, fence: 1, since: 1, leaseUntil: 5000 };
    await db.store.locks.write({ ...base(r), holder: held, fence: 1 }, { expectedVersion: 1 });
    const stale = await db.store.locks
      .write(base(r), { expectedVersion: 1 })
      .catch((e: ConditionFailedError<LockRecord>) => e);
    expect(stale).toBeInstanceOf(ConditionFailedError);
    expect((stale as ConditionFailedError<LockRecord>).current).toMatchObject({ version: 2, holder: held });
    expect(await db.store.locks.get(r, 'deployment:prod')).toMatchObject({
      version: 2,
      holder: held,
      fence: 1,
    });
  });

  it('takes a lock only when the holder lease has ended, compared in the condition', async () => {
    const r = repo();
    const held = { runId: 'r1', step: 0, fence: 1, since: 1, leaseUntil: 5000 };
    await db.store.locks.write({ ...base(r), holder: held, fence: 1 }, { expectedVersion: 0 });
    const take = (now: number) =>
      db.store.locks.write(
        { ...base(r), holder: { ...held, runId: 'r2', fence: 2, leaseUntil: now + 1000 }, fence: 2 },
        { expectedVersion: 1, leaseExpiredBefore: now },
      );
    await expect(take(5000)).rejects.toBeInstanceOf(ConditionFailedError);
    expect((await take(5001)).holder?.runId).toBe('r2');
  });

  it('lists the locks of one repository, or all', async () => {
    const r1 = repo();
    const r2 = repo();
    await db.store.locks.write(base(r1), { expectedVersion: 0 });
    await db.store.locks.write({ ...base(r1), key: 'concurrency:db' }, { expectedVersion: 0 });
    await db.store.locks.write(base(r2), { expectedVersion: 0 });
    expect((await db.store.locks.list(r1)).map((lock) => lock.key)).toEqual([
      'concurrency:db',
      'deployment:prod',
    ]);
    const all = await db.store.locks.list();
    expect(all.filter((lock) => lock.repository === r1 || lock.repository === r2)).toHaveLength(3);
  });
});
