// The store against moto's DynamoDB, which checks requests as DynamoDB does (expression syntax,
// unused or missing placeholders, key conditions, reserved words, set and binary types) where the
// local engine's dynalite is more lenient. Finale's tables are created from store/tables.ts as infra/
// and local/ create them (on-demand, the same keys and index, TTL on the expiry attribute), and every
// repository's writes run for real: a run through its steps, approval, lock wait, stop, final path and
// finish; an orphan claim; locks taken, queued and handed over by core/locks.ts; settings, audit,
// counters, gzipped plans, deliveries with expiry, variables and the environments string set.

import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CoreDeps, createPlanSource } from '../../core/deps';
import { acquireLock, leaveLockQueue, listLocks, releaseLock } from '../../core/locks';
import { createRun } from '../../core/runs';
import { localVault } from '../../local/vault';
import { prefixedTableNames } from '../../store/client';
import { ConditionFailedError, LockConflictError } from '../../store/errors';
import type { RunRecord } from '../../store/records';
import { createStore, type Store } from '../../store/store';
import { createTableInput, TABLES, type TableName, type TableSpec } from '../../store/tables';
import { FakeOrchestrator, FakeTasks } from '../core/fakes';
import { deployLock, planOf } from '../core/fixtures';
import { ManualClock } from '../support/dynalite';
import { useMoto } from '../support/moto';

const moto = useMoto();
const tables = prefixedTableNames('finale-');
const clock = new ManualClock();
let client: DynamoDBDocumentClient;
let store: Store;

beforeAll(async () => {
  const dynamo = new DynamoDBClient(moto.clientConfig);
  for (const table of Object.keys(TABLES) as TableName[]) {
    const spec: TableSpec = TABLES[table];
    await dynamo.send(new CreateTableCommand(createTableInput(spec, tables[table])));
    if (spec.ttlAttribute)
      await dynamo.send(
        new UpdateTimeToLiveCommand({
          TableName: tables[table],
          TimeToLiveSpecification: { AttributeName: spec.ttlAttribute, Enabled: true },
        }),
      );
  }
  client = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  store = createStore({ client, tables, clock });
});

const repositoryName = () => `acme/app-${randomUUID().slice(0, 8)}`;

function deps(orchestrator = new FakeOrchestrator()): CoreDeps {
  return {
    store,
    orchestrator,
    tasks: new FakeTasks(store.runs),
    clock,
    plans: createPlanSource(store),
    vault: localVault(join(tmpdir(), `finale-moto-${randomUUID()}`, 'variables.key')),
  };
}

/** A stored RUNNING run of a plan with a build step, a deploy step under a lock, and a final step. */
async function runningRun(repository = repositoryName()): Promise<RunRecord> {
  const lock = deployLock('production', [1]);
  const plan = planOf(
    [{ name: 'Build' }, { name: 'Deploy', locks: [lock.key] }, { name: 'Clean up', kind: 'final' }],
    [lock],
  );
  const run = await createRun(
    {
      plan,
      repository,
      trigger: { kind: 'branch', ref: 'main', commit: 'c0ffee' },
      startedBy: 'alice',
      variables: { EMPTY: '', TARGET: 'eu' },
    },
    deps(),
  );
  return store.runs.start(run.runId, clock.now());
}

it('is as strict as DynamoDB: an unused expression value is refused', async () => {
  // What dynalite lets through and DynamoDB does not; the tests below are worth as much as this.
  await expect(
    client.send(
      new UpdateCommand({
        TableName: tables.repositories,
        Key: { repository: repositoryName(), item: 'settings' },
        UpdateExpression: 'SET #a = :a',
        ExpressionAttributeNames: { '#a': 'stopTimeout' },
        ExpressionAttributeValues: { ':a': 1, ':unused': 2 },
      }),
    ),
  ).rejects.toMatchObject({ name: 'ValidationException' });
});

it('creates the tables as specified', async () => {
  const dynamo = new DynamoDBClient(moto.clientConfig);
  const runs = (await dynamo.send(new DescribeTableCommand({ TableName: tables.runs }))).Table!;
  expect(runs.TableStatus).toBe('ACTIVE');
  expect(runs.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema])).toEqual([
    [
      'byRepository',
      [
        { AttributeName: 'repository', KeyType: 'HASH' },
        { AttributeName: 'buildNumber', KeyType: 'RANGE' },
      ],
    ],
  ]);
  const ttl = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: tables.deliveries }));
  expect(ttl.TimeToLiveDescription).toMatchObject({
    AttributeName: 'expiresAt',
    TimeToLiveStatus: 'ENABLED',
  });
});

describe('runs', () => {
  it('creates a run once, with a build number from the counter and its plan stored gzipped', async () => {
    const repository = repositoryName();
    const first = await runningRun(repository);
    const second = await runningRun(repository);
    expect([first.buildNumber, second.buildNumber]).toEqual([1, 2]);
    expect(first).toMatchObject({ status: 'RUNNING', version: 2, variables: { EMPTY: '', TARGET: 'eu' } });

    const { version: _version, ...created } = first;
    await expect(store.runs.create({ ...created, version: 1 } as RunRecord)).rejects.toBeInstanceOf(
      ConditionFailedError,
    );

    const stored = await client.send(
      new GetCommand({ TableName: tables.plans, Key: { planHash: first.planHash } }),
    );
    expect(stored.Item!.plan).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(stored.Item!.plan as Uint8Array).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const plan = await store.plans.get(first.planHash);
    expect(plan?.hash).toBe(first.planHash);
    expect(plan?.steps.map((step) => step.name)).toEqual(['Build', 'Deploy', 'Clean up']);
    // Plans are immutable: a second put of the same hash is no error.
    await expect(store.plans.put(plan!)).resolves.toBeUndefined();
    expect(await store.plans.get('no-such-plan')).toBeUndefined();
  });

  it('finds runs by build number and lists them newest first through the index, page by page', async () => {
    const repository = repositoryName();
    for (let n = 0; n < 3; n++) await runningRun(repository);
    expect((await store.runs.getByBuildNumber(repository, 2))?.buildNumber).toBe(2);
    expect(await store.runs.getByBuildNumber(repository, 9)).toBeUndefined();
    const first = await store.runs.list(repository, { limit: 2 });
    expect(first.items.map((run) => run.buildNumber)).toEqual([3, 2]);
    const second = await store.runs.list(repository, { limit: 2, cursor: first.cursor! });
    expect(second.items.map((run) => run.buildNumber)).toEqual([1]);
    expect(second.cursor).toBeUndefined();
  });

  it('runs the steps: begin, task, end, result, notes, resume, restart, skip', async () => {
    const run = await runningRun();
    const id = run.runId;
    let now = await store.runs.beginStep(id, 0, { at: 10 });
    expect(now.steps['0']).toMatchObject({ status: 'RUNNING', startedAt: 10, attempts: 1 });
    now = await store.runs.recordTaskStarted(id, 0, 'arn:aws:ecs:eu-west-1:123456789012:task/finale/abc');
    now = await store.runs.markResumed(id, 0, { at: 11, text: 'resumed' });
    expect(now.steps['0']?.resumed).toBe(true);
    await expect(store.runs.markResumed(id, 0, { at: 12, text: 'again' })).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    now = await store.runs.restartStep(id, 0, { at: 13, attempts: 1, note: { at: 13, text: 'restarted' } });
    expect(now.steps['0']).toMatchObject({ status: 'RUNNING', startedAt: 13, attempts: 2 });
    expect(now.steps['0']).not.toHaveProperty('resumed');
    expect(now.steps['0']).not.toHaveProperty('taskId');
    await expect(
      store.runs.restartStep(id, 0, { at: 14, attempts: 1, note: { at: 14, text: 'stale' } }),
    ).rejects.toBeInstanceOf(ConditionFailedError);

    now = await store.runs.recordTaskEnded(id, 0, {
      exitCode: 0,
      stopCode: 'EssentialContainerExited',
      outputs: { VERSION: '1.2.3', 'with-dash': 'x' },
      securedOutputs: { TOKEN: 'kms:v1:AAAA' },
    });
    expect(now.outputs).toEqual({ VERSION: '1.2.3', 'with-dash': 'x' });
    expect(now.securedOutputs).toEqual({ TOKEN: 'kms:v1:AAAA' });
    now = await store.runs.recordStepResult(id, 0, {
      status: 'FAILED',
      exitCode: 1,
      stopCode: 'EssentialContainerExited',
      endedAt: 20,
      ignored: true,
    });
    expect(now.steps['0']).toMatchObject({ status: 'FAILED', exitCode: 1, endedAt: 20, ignored: true });
    now = await store.runs.addNote(id, { at: 21, text: 'a note' });
    expect(now.notes?.map((note) => note.text)).toEqual(['resumed', 'restarted', 'a note']);

    // Beginning again clears what the last attempt left.
    now = await store.runs.beginStep(id, 0, { at: 30, requireRunning: true });
    expect(now.steps['0']).toMatchObject({ status: 'RUNNING', attempts: 3 });
    for (const stale of ['endedAt', 'exitCode', 'stopCode', 'ignored'])
      expect(now.steps['0']).not.toHaveProperty(stale);

    now = await store.runs.skipPendingStep(id, 1);
    expect(now.steps['1']?.status).toBe('NOT_RUN');
    await expect(store.runs.skipPendingStep(id, 1)).rejects.toBeInstanceOf(ConditionFailedError);
    // A NOT_RUN step does not begin; a step that does not exist neither.
    await expect(store.runs.beginStep(id, 1, { at: 31 })).rejects.toBeInstanceOf(ConditionFailedError);
    await expect(store.runs.beginStep(id, 7, { at: 31 })).rejects.toBeInstanceOf(ConditionFailedError);
    await expect(store.runs.start('no-such-run', 1)).rejects.toThrow(/does not exist/);
  });

  it('waits for an approval and a lock, stops, takes the final path and finishes', async () => {
    const run = await runningRun();
    const id = run.runId;
    const approval = { kind: 'approval' as const, step: 1, taskToken: 'tok-approve', since: 40 };
    let now = await store.runs.pauseForApproval(id, approval);
    expect(now).toMatchObject({ status: 'PAUSED', waiting: approval });
    // Already paused at that step: a fresh token.
    now = await store.runs.pauseForApproval(id, { ...approval, taskToken: 'tok-approve-2' });
    await expect(
      store.runs.resumeFromApproval(id, { step: 1, taskToken: 'tok-approve' }, { approved: true }),
    ).rejects.toBeInstanceOf(ConditionFailedError);
    const refused = await store.runs.resumeFromApproval(
      id,
      { step: 1, taskToken: 'tok-approve-2' },
      { approved: false, refusedBy: 'bob' },
    );
    expect(refused).toMatchObject({
      status: 'RUNNING',
      steps: { '1': { status: 'NOT_RUN', refusedBy: 'bob' } },
    });
    expect(refused).not.toHaveProperty('waiting');
    now = await store.runs.revertApproval(id, { ...approval, taskToken: 'tok-approve-2' }, refused.version);
    expect(now.steps['1']).not.toHaveProperty('refusedBy');
    now = await store.runs.resumeFromApproval(
      id,
      { step: 1, taskToken: 'tok-approve-2' },
      { approved: true },
    );
    expect(now.steps['1']?.status).toBe('PENDING');

    const key = 'deployment:production';
    now = await store.runs.waitForLock(id, {
      kind: 'lock',
      step: 1,
      lock: key,
      taskToken: 'tok-lock',
      since: 50,
    });
    now = await store.runs.markStepWaiting(id, 1);
    expect(now.steps['1']?.status).toBe('WAITING');
    now = await store.runs.holdLock(id, key, { fence: 3, since: 51 });
    expect(now.locks).toEqual({ [key]: { fence: 3, since: 51 } });
    expect(now).not.toHaveProperty('waiting');
    // Waiting for something else: the lock is recorded, that wait stays.
    await store.runs.waitForLock(id, {
      kind: 'lock',
      step: 1,
      lock: 'concurrency:x',
      taskToken: 'tok-x',
      since: 52,
    });
    now = await store.runs.holdLock(id, 'concurrency:y', { fence: 1, since: 53 });
    expect(now.waiting?.taskToken).toBe('tok-x');
    await expect(store.runs.clearWaiting(id, 'tok-other')).rejects.toBeInstanceOf(ConditionFailedError);
    now = await store.runs.clearWaiting(id, 'tok-x');
    expect(now).not.toHaveProperty('waiting');
    await expect(store.runs.dropLock(id, key, 2)).rejects.toBeInstanceOf(ConditionFailedError);
    now = await store.runs.dropLock(id, key, 3);
    now = await store.runs.dropLock(id, 'concurrency:y');
    expect(now.locks).toEqual({});

    const stop = { by: 'alice', mode: 'graceful' as const, reason: 'enough', at: 60 };
    await expect(
      store.runs.requestStop(id, { status: 'STOPPING', record: stop, expectedVersion: now.version - 1 }),
    ).rejects.toBeInstanceOf(ConditionFailedError);
    now = await store.runs.requestStop(id, {
      status: 'STOPPING',
      record: stop,
      expectedVersion: now.version,
    });
    expect(now).toMatchObject({ status: 'STOPPING', stop });
    now = await store.runs.enterFinal(id, {
      outcome: { status: 'STOPPED', reason: 'stopped' },
      notRun: [1],
      expectedVersion: now.version,
    });
    expect(now).toMatchObject({ phase: 'final', outcome: { status: 'STOPPED', reason: 'stopped' } });
    // The final step begins whatever the run's status, once.
    now = await store.runs.beginStep(id, 2, { at: 70 });
    expect(now.steps['2']).toMatchObject({ status: 'RUNNING', attempts: 1 });
    await expect(store.runs.beginStep(id, 2, { at: 71 })).rejects.toBeInstanceOf(ConditionFailedError);
    expect((await store.runs.listUnfinished()).map((unfinished) => unfinished.runId)).toContain(id);

    now = await store.runs.finish(id, {
      status: 'STOPPED',
      reason: 'stopped',
      endedAt: 80,
      expectedVersion: now.version,
    });
    expect(now).toMatchObject({
      status: 'STOPPED',
      reason: 'stopped',
      phase: 'done',
      locks: {},
      endedAt: 80,
    });
    expect((await store.runs.listUnfinished()).map((unfinished) => unfinished.runId)).not.toContain(id);
    expect(await store.runs.get(id)).toEqual(now);
  });

  it('keeps an engine lease, and claims an orphan or records an abandoned run only as conditioned', async () => {
    const run = await runningRun();
    const id = run.runId;
    let now = await store.runs.setEngine(id, { instance: 'engine-a', leaseUntil: 1000 });
    now = await store.runs.renewEngineLease(id, 'engine-a', 2000);
    expect(now.engine).toEqual({ instance: 'engine-a', leaseUntil: 2000 });
    await expect(store.runs.renewEngineLease(id, 'engine-b', 3000)).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    await store.runs.beginStep(id, 0, { at: 100 });
    now = (await store.runs.get(id))!;

    const claim = {
      engine: { instance: 'engine-b', leaseUntil: 9000 },
      erroredSteps: [0],
      endedAt: 2500,
      note: { at: 2500, text: 'orphaned' },
      expectedVersion: now.version,
    };
    await expect(store.runs.claimOrphan(id, { ...claim, now: 2000 })).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    now = await store.runs.claimOrphan(id, { ...claim, now: 2001 });
    expect(now).toMatchObject({
      engine: { instance: 'engine-b' },
      outcome: { status: 'ERROR', reason: 'orphaned' },
      steps: { '0': { status: 'ERROR', endedAt: 2500 } },
    });
    // enterFinal keeps an outcome already fixed.
    now = await store.runs.enterFinal(id, {
      outcome: { status: 'SUCCESSFUL', reason: 'succeeded' },
      notRun: [],
      expectedVersion: now.version,
    });
    expect(now.outcome).toEqual({ status: 'ERROR', reason: 'orphaned' });

    now = await store.runs.recordAbandoned(id, {
      outcome: { status: 'ERROR', reason: 'aborted' },
      erroredSteps: [2],
      endedAt: 3000,
      note: { at: 3000, text: 'aborted' },
      expectedVersion: now.version,
    });
    expect(now.steps['2']?.status).toBe('ERROR');
    now = await store.runs.finish(id, {
      status: 'ERROR',
      reason: 'aborted',
      endedAt: 3001,
      expectedVersion: now.version,
    });
    await expect(
      store.runs.recordAbandoned(id, {
        outcome: { status: 'ERROR', reason: 'aborted' },
        erroredSteps: [],
        endedAt: 3002,
        note: { at: 3002, text: 'again' },
        expectedVersion: now.version,
      }),
    ).rejects.toBeInstanceOf(ConditionFailedError);
  });
});

describe('locks', () => {
  it('takes, queues, hands over and releases a lock through core/locks.ts', async () => {
    const repository = repositoryName();
    const [a, b, c] = [
      await runningRun(repository),
      await runningRun(repository),
      await runningRun(repository),
    ];
    const orchestrator = new FakeOrchestrator();
    const d = deps(orchestrator);
    const key = 'deployment:production';
    const acquire = (run: RunRecord, token: string) =>
      acquireLock({ repository, key, runId: run.runId, step: 1, leaseSeconds: 600, taskToken: token }, d);

    expect(await acquire(a, 'tok-a')).toEqual({ state: 'held', fence: 1 });
    expect(await acquire(b, 'tok-b')).toEqual({ state: 'queued', position: 1 });
    expect(await acquire(c, 'tok-c')).toEqual({ state: 'queued', position: 2 });
    expect((await store.runs.get(a.runId))!.locks[key]).toMatchObject({ fence: 1 });
    expect((await store.locks.get(repository, key))!.waiters.map((waiter) => waiter.runId)).toEqual([
      b.runId,
      c.runId,
    ]);

    expect(await leaveLockQueue({ repository, key, runId: c.runId }, d)).toHaveLength(1);
    const released = await releaseLock({ repository, key, runId: a.runId, fence: 1 }, d);
    expect(released).toMatchObject({ released: true, handedTo: { runId: b.runId, fence: 2 } });
    expect(orchestrator.successes().map((call) => [call.token, call.output])).toEqual([
      ['tok-a', { fence: 1 }],
      ['tok-b', { fence: 2 }],
    ]);
    expect((await store.runs.get(a.runId))!.locks).toEqual({});
    expect((await store.runs.get(b.runId))!.locks[key]).toMatchObject({ fence: 2 });
    const views = await listLocks(repository, d);
    expect(views).toHaveLength(1);
    expect(views[0]).toMatchObject({ key, holder: { runId: b.runId, fence: 2 } });

    // An expired lease is taken over in the condition itself.
    clock.advance(601_000);
    expect(await acquire(c, 'tok-c2')).toEqual({ state: 'held', fence: 3 });
    clock.advance(-601_000);
  });

  it('writes a lock item only at the version read', async () => {
    const repository = repositoryName();
    const next = { repository, key: 'concurrency:g', fence: 0, waiters: [] };
    const written = await store.locks.write(next, { expectedVersion: 0 });
    expect(written).toMatchObject({ lockKey: `${repository}#concurrency:g`, version: 1 });
    await expect(store.locks.write(next, { expectedVersion: 0 })).rejects.toBeInstanceOf(LockConflictError);
    const holder = { runId: 'r1', step: 0, fence: 1, since: 1, leaseUntil: 5000 };
    await store.locks.write({ ...next, holder, fence: 1 }, { expectedVersion: 1, leaseExpiredBefore: 10 });
    const refused = store.locks.write(
      { ...next, holder: { ...holder, runId: 'r2', fence: 2 }, fence: 2 },
      { expectedVersion: 2, leaseExpiredBefore: 4000 },
    );
    await expect(refused).rejects.toBeInstanceOf(LockConflictError);
    await expect(refused).rejects.toMatchObject({ current: { holder: { runId: 'r1' }, version: 2 } });
    expect((await store.locks.list(repository)).map((lock) => lock.version)).toEqual([2]);
  });
});

describe('repository items', () => {
  it('keeps settings key by key, counts build numbers and lists audit entries newest first', async () => {
    const repository = repositoryName();
    expect(await store.settings.get(repository)).toMatchObject({ gracefulStop: true, stopTimeout: 30 });
    await store.settings.update(repository, { stopTimeout: 90, admins: ['alice'] });
    const settings = await store.settings.update(repository, { stopSignal: 'INT', stopPolicy: 'admins' });
    expect(settings).toEqual({
      gracefulStop: true,
      stopTimeout: 90,
      stopSignal: 'INT',
      stopPolicy: 'admins',
      admins: ['alice'],
    });

    expect([await store.counters.next(repository), await store.counters.next(repository)]).toEqual([1, 2]);

    for (const [at, action] of [
      [1000, 'start'],
      [1000, 'stop'],
      [2000, 'unlock'],
    ] as const)
      await store.audit.append({
        repository,
        at,
        by: 'alice',
        action,
        detail: { n: at, nested: { ok: true } },
      });
    const audit = await store.audit.list(repository);
    expect(audit.map((entry) => entry.action)).toEqual(['unlock', expect.any(String), expect.any(String)]);
    expect(audit[0]).toEqual({
      repository,
      at: 2000,
      by: 'alice',
      action: 'unlock',
      detail: { n: 2000, nested: { ok: true } },
    });
    expect(await store.audit.list(repository, { limit: 1 })).toHaveLength(1);
  });

  it('marks a delivery seen until it expires, and forgets it', async () => {
    const id = `delivery-${randomUUID()}`;
    expect(await store.deliveries.markSeen(id, 60)).toBe(true);
    expect(await store.deliveries.markSeen(id, 60)).toBe(false);
    clock.advance(61_000);
    expect(await store.deliveries.markSeen(id, 60)).toBe(true);
    await store.deliveries.forget(id);
    expect(await store.deliveries.markSeen(id, 60)).toBe(true);
    clock.advance(-61_000);
  });

  it('puts, reads, lists and deletes variables, and adds environments to a string set', async () => {
    const repository = repositoryName();
    const at = { updatedAt: 5, updatedBy: 'alice' };
    await store.variables.put(repository, {
      scope: 'repository',
      name: 'API_URL',
      secured: false,
      value: 'https://x',
      ...at,
    });
    await store.variables.put(repository, {
      scope: 'deployment:production',
      name: 'TOKEN',
      secured: true,
      sealed: '/finale/variables/t',
      ...at,
    });
    // Turned secured: the plain value goes.
    await store.variables.put(repository, {
      scope: 'repository',
      name: 'API_URL',
      secured: true,
      sealed: 'sealed-1',
      ...at,
    });
    expect(await store.variables.get(repository, 'repository', 'API_URL')).toEqual({
      scope: 'repository',
      name: 'API_URL',
      secured: true,
      sealed: 'sealed-1',
      ...at,
    });
    expect((await store.variables.list(repository)).map((variable) => variable.name)).toEqual([
      'TOKEN',
      'API_URL',
    ]);
    expect((await store.variables.delete(repository, 'repository', 'API_URL'))?.sealed).toBe('sealed-1');
    expect(await store.variables.delete(repository, 'repository', 'API_URL')).toBeUndefined();
    expect(await store.variables.get(repository, 'repository', 'API_URL')).toBeUndefined();

    expect(await store.variables.environments(repository)).toEqual([]);
    await store.variables.addEnvironments(repository, ['staging', 'production']);
    await store.variables.addEnvironments(repository, ['production', 'test']);
    await store.variables.addEnvironments(repository, []);
    expect(await store.variables.environments(repository)).toEqual(['production', 'staging', 'test']);
  });
});
