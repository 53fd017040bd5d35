// The DynamoDB tables, described once: infra/ creates them with CDK, local/ creates them in dynalite.
// Only single-item conditional writes are used (dynalite has no transactions, no TTL).

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
