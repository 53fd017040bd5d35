import { mkdtemp, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  LOCAL_TABLES,
  localDocumentClient,
  startDynalite,
} from '../../local/dynalite';
import { createStore } from '../../store/store';
import { TABLES } from '../../store/tables';
import { startTestDynalite } from '../support/dynalite';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('local dynalite', () => {
  it('listens on 127.0.0.1 with a random port and creates every table with its keys and indexes', async () => {
    const dynamo = await startDynalite();
    try {
      expect(dynamo.endpoint).toBe(`http://127.0.0.1:${dynamo.port}`);
      expect(dynamo.port).toBeGreaterThan(0);
      const client = new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      });
      const runs = await client.send(new DescribeTableCommand({ TableName: LOCAL_TABLES.runs }));
      expect(runs.Table?.TableStatus).toBe('ACTIVE');
      expect(runs.Table?.KeySchema).toEqual([{ AttributeName: 'runId', KeyType: 'HASH' }]);
      expect(runs.Table?.GlobalSecondaryIndexes?.[0]?.IndexName).toBe('byRepository');
      const repositories = await client.send(
        new DescribeTableCommand({ TableName: LOCAL_TABLES.repositories }),
      );
      expect(repositories.Table?.KeySchema).toEqual([
        { AttributeName: 'repository', KeyType: 'HASH' },
        { AttributeName: 'item', KeyType: 'RANGE' },
      ]);
      for (const table of Object.keys(TABLES) as (keyof typeof TABLES)[]) {
        const out = await client.send(new DescribeTableCommand({ TableName: LOCAL_TABLES[table] }));
        expect(out.Table?.TableName).toBe(`finale-${table}`);
      }
      client.destroy();
    } finally {
      await dynamo.close();
    }
  });

  it('keeps tables and data of a persisted database across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'finale-dynalite-'));
    dirs.push(dir);
    const path = join(dir, '.finale', 'db');
    const first = await startTestDynalite({ path });
    expect(await first.store.counters.next('acme/app')).toBe(1);
    expect(await first.store.counters.next('acme/app')).toBe(2);
    await first.close();

    const second = await startTestDynalite({ path });
    try {
      expect(await second.store.counters.next('acme/app')).toBe(3);
    } finally {
      await second.close();
    }
  });

  it('uses the port it is given', async () => {
    const probe = await startDynalite();
    const port = probe.port;
    await probe.close();
    const dynamo = await startDynalite({ port });
    try {
      expect(dynamo.port).toBe(port);
    } finally {
      await dynamo.close();
    }
  });

  it('serves its own process without a socket: the same answers, errors included, and a clear error once closed', async () => {
    const dynamo = await startDynalite();
    const connects = vi.spyOn(Socket.prototype, 'connect');
    const client = localDocumentClient(dynamo);
    const store = createStore({ client, tables: dynamo.tables, clock: { now: () => 1 } });
    const put = (holder: string) =>
      client.send(
        new PutCommand({
          TableName: dynamo.tables.locks,
          Item: { lockKey: 'k', holder },
          ConditionExpression: 'attribute_not_exists(lockKey)',
        }),
      );
    // The port stays open for other clients: a signed SDK client over HTTP sees what this one wrote.
    const http = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      expect(dynamo.requestHandler).toBeDefined();
      expect(await store.counters.next('acme/app')).toBe(1);
      expect(await store.counters.next('acme/app')).toBe(2);
      await put('a');
      await expect(put('b')).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
      expect(connects).not.toHaveBeenCalled();
      const seen = await http.send(
        new GetItemCommand({ TableName: dynamo.tables.locks, Key: { lockKey: { S: 'k' } } }),
      );
      expect(seen.Item?.holder).toEqual({ S: 'a' });
      expect(connects).toHaveBeenCalled();
    } finally {
      connects.mockRestore();
      http.destroy();
      await dynamo.close();
    }
    await expect(store.counters.next('acme/app')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    client.destroy();
  });
});
