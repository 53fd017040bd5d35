import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_TABLES, startDynalite } from '../../local/dynalite';
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
});
