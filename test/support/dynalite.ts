// Test helper: an in-memory dynalite with Finale's tables and a Store over it. Each test file gets
// its own server on a random port, so files run in parallel without sharing data.
//
//   const db = useDynalite();            // registers beforeAll/afterAll
//   it('…', async () => { await db.store.runs.get('x'); });

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { type LocalDynamo, localDocumentClient, startDynalite } from '../../local/dynalite';
import { createStore, type Store } from '../../store/store';
import type { TableNames } from '../../store/tables';
import type { Clock } from '../../vocabulary/contract';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** A clock tests move by hand; starts at a fixed, realistic time. */
export class ManualClock implements Clock {
  constructor(private time = Date.UTC(2026, 0, 1, 12, 0, 0)) {}
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
  set(time: number): void {
    this.time = time;
  }
}

export interface TestDynalite {
  readonly store: Store;
  readonly client: DynamoDBDocumentClient;
  readonly endpoint: string;
  readonly tables: TableNames;
  /** The clock the store (and usually the core) uses: the real one unless one was given. */
  readonly clock: Clock;
  close(): Promise<void>;
}

export async function startTestDynalite(
  options: { clock?: Clock; path?: string } = {},
): Promise<TestDynalite> {
  const dynamo: LocalDynamo = await startDynalite(options.path ? { path: options.path } : {});
  const clock = options.clock ?? { now: () => Date.now() };
  const client = localDocumentClient(dynamo);
  return {
    store: createStore({ client, tables: dynamo.tables, clock }),
    client,
    endpoint: dynamo.endpoint,
    tables: dynamo.tables,
    clock,
    async close() {
      client.destroy();
      await dynamo.close();
    },
  };
}

/** Starts one dynalite for the calling test file; its fields are valid inside tests and hooks. */
export function useDynalite(options: { clock?: Clock } = {}): TestDynalite {
  let current: TestDynalite | undefined;
  beforeAll(async () => {
    current = await startTestDynalite(options);
  });
  afterAll(async () => {
    await current?.close();
  });
  const need = (): TestDynalite => {
    if (!current) throw new Error('useDynalite(): only available inside tests and hooks');
    return current;
  };
  return {
    get store() {
      return need().store;
    },
    get client() {
      return need().client;
    },
    get endpoint() {
      return need().endpoint;
    },
    get tables() {
      return need().tables;
    },
    get clock() {
      return need().clock;
    },
    close: () => need().close(),
  };
}
