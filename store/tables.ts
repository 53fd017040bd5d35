// The DynamoDB tables, described once: infra/ creates them with CDK, local/ in dynalite (and the moto
// tests in moto) with createTableInput.
// Only single-item conditional writes are used (dynalite has no transactions, no TTL).

import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export interface TableSpec {
  /** Stable logical name: the CDK construct id and the local table name. Never rename. */
  readonly name: string;
  readonly partitionKey: { readonly name: string; readonly type: 'S' | 'N' };
  readonly sortKey?: { readonly name: string; readonly type: 'S' | 'N' };
  readonly indexes?: readonly {
    readonly name: string;
    readonly partitionKey: { readonly name: string; readonly type: 'S' | 'N' };
    readonly sortKey?: { readonly name: string; readonly type: 'S' | 'N' };
  }[];
  /** Attribute holding an epoch-seconds expiry, for garbage collection only (reads compare it themselves). */
  readonly ttlAttribute?: string;
}

export const TABLES = {
  /** One item per run, with its steps, held locks, outputs and waiting token as nested maps. */
  runs: {
    name: 'runs',
    partitionKey: { name: 'runId', type: 'S' },
    indexes: [
      {
        name: 'byRepository',
        partitionKey: { name: 'repository', type: 'S' },
        sortKey: { name: 'buildNumber', type: 'N' },
      },
    ],
    ttlAttribute: 'expiresAt',
  },
  /** One item per lock key: holder with lease and fencing token, FIFO waiters, version. */
  locks: {
    name: 'locks',
    partitionKey: { name: 'lockKey', type: 'S' },
  },
  /**
   * Per repository: `settings`, `counter` (build numbers), `audit#<time>#<id>` entries,
   * `variable#<scope>#<name>` variables and `environments` (store/variables.ts).
   */
  repositories: {
    name: 'repositories',
    partitionKey: { name: 'repository', type: 'S' },
    sortKey: { name: 'item', type: 'S' },
    ttlAttribute: 'expiresAt',
  },
  /** Compiled plans by hash, gzipped: the step specs a task fetches at start. */
  plans: {
    name: 'plans',
    partitionKey: { name: 'planHash', type: 'S' },
  },
  /** Webhook delivery ids seen, for dedupe. */
  deliveries: {
    name: 'deliveries',
    partitionKey: { name: 'deliveryId', type: 'S' },
    ttlAttribute: 'expiresAt',
  },
} as const satisfies Record<string, TableSpec>;

export type TableName = keyof typeof TABLES;

/** Actual table names per deployment (CDK-generated on AWS, prefixed locally). */
export type TableNames = Readonly<Record<TableName, string>>;

/** The CreateTable request for a table spec (on-demand billing, as on AWS). */
export function createTableInput(spec: TableSpec, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, 'S' | 'N'>();
  const keySchema = (key: TableSpec['partitionKey'], sort?: TableSpec['sortKey']) => {
    attributes.set(key.name, key.type);
    if (sort) attributes.set(sort.name, sort.type);
    return [
      { AttributeName: key.name, KeyType: 'HASH' as const },
      ...(sort ? [{ AttributeName: sort.name, KeyType: 'RANGE' as const }] : []),
    ];
  };
  const KeySchema = keySchema(spec.partitionKey, spec.sortKey);
  const indexes = (spec.indexes ?? []).map((index) => ({
    IndexName: index.name,
    KeySchema: keySchema(index.partitionKey, index.sortKey),
    Projection: { ProjectionType: 'ALL' as const },
  }));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema,
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType,
    })),
    ...(indexes.length ? { GlobalSecondaryIndexes: indexes } : {}),
  };
}
