// The per-repository items (settings, the build counter, audit entries), plans and webhook
// deliveries. Locks and runs have their own modules.

import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Plan } from '../statemachine/compiler/plan';
import type { Clock } from '../vocabulary/contract';
import { isConditionalCheckFailure } from './errors';
import { Expression } from './expression';
import { type AuditRecord, DEFAULT_SETTINGS, type SettingsRecord } from './records';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Sort keys of the repositories table. */
const REPOSITORY_ITEMS = { settings: 'settings', counter: 'counter', auditPrefix: 'audit#' } as const;

export interface CountersRepository {
  /** The next build number of a repository: 1, 2, 3, … (atomic). */
  next(repository: string): Promise<number>;
}

export function createCountersRepository(
  client: DynamoDBDocumentClient,
  tableName: string,
): CountersRepository {
  return {
    async next(repository) {
      const out = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { repository, item: REPOSITORY_ITEMS.counter },
          UpdateExpression: 'ADD #n :one',
          ExpressionAttributeNames: { '#n': 'lastBuildNumber' },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(out.Attributes?.lastBuildNumber);
    },
  };
}

export interface SettingsRepository {
  /** The repository's settings, with defaults for anything never set. */
  get(repository: string): Promise<SettingsRecord>;
  /** Sets the given keys (others are kept) and returns the settings now in force. */
  update(repository: string, changes: Partial<SettingsRecord>): Promise<SettingsRecord>;
}

export function createSettingsRepository(
  client: DynamoDBDocumentClient,
  tableName: string,
): SettingsRepository {
  const key = (repository: string) => ({ repository, item: REPOSITORY_ITEMS.settings });
  async function get(repository: string): Promise<SettingsRecord> {
    const out = await client.send(
      new GetCommand({ TableName: tableName, Key: key(repository), ConsistentRead: true }),
    );
    return withDefaults(out.Item);
  }
  return {
    get,
    async update(repository, changes) {
      const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
      if (entries.length === 0) return get(repository);
      const e = new Expression();
      // One SET per key: concurrent changes of different keys do not overwrite each other.
      for (const [name, value] of entries) e.set([name], value);
      const out = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(repository),
          ReturnValues: 'ALL_NEW',
          ...e.build(),
        }),
      );
      return withDefaults(out.Attributes);
    },
  };
}

function withDefaults(item: Record<string, unknown> | undefined): SettingsRecord {
  const stored = item ?? {};
  return {
    gracefulStop: (stored.gracefulStop as boolean | undefined) ?? DEFAULT_SETTINGS.gracefulStop,
    stopTimeout: (stored.stopTimeout as number | undefined) ?? DEFAULT_SETTINGS.stopTimeout,
    stopSignal:
      (stored.stopSignal as SettingsRecord['stopSignal'] | undefined) ?? DEFAULT_SETTINGS.stopSignal,
    stopPolicy:
      (stored.stopPolicy as SettingsRecord['stopPolicy'] | undefined) ?? DEFAULT_SETTINGS.stopPolicy,
    admins: (stored.admins as string[] | undefined) ?? DEFAULT_SETTINGS.admins,
  };
}

export interface AuditRepository {
  append(record: AuditRecord): Promise<void>;
  /** Newest first. */
  list(repository: string, options?: { limit?: number }): Promise<AuditRecord[]>;
}

export function createAuditRepository(client: DynamoDBDocumentClient, tableName: string): AuditRepository {
  return {
    async append(record) {
      // Time first so entries sort by time; the random part keeps two entries of one millisecond apart.
      const item = `${REPOSITORY_ITEMS.auditPrefix}${new Date(record.at).toISOString()}#${randomBytes(6).toString('hex')}`;
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...record, item },
          ConditionExpression: 'attribute_not_exists(#i)',
          ExpressionAttributeNames: { '#i': 'item' },
        }),
      );
    },
    async list(repository, options = {}) {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: '#r = :r AND begins_with(#i, :p)',
          ExpressionAttributeNames: { '#r': 'repository', '#i': 'item' },
          ExpressionAttributeValues: { ':r': repository, ':p': REPOSITORY_ITEMS.auditPrefix },
          ScanIndexForward: false,
          Limit: options.limit ?? 50,
        }),
      );
      return (out.Items ?? []).map(
        ({ item: _item, expiresAt: _expiresAt, ...record }) => record as AuditRecord,
      );
    },
  };
}

export interface PlansRepository {
  /** Stores a plan under its hash (plans are immutable: an existing one is left as is). */
  put(plan: Plan): Promise<void>;
  get(planHash: string): Promise<Plan | undefined>;
}

export function createPlansRepository(
  client: DynamoDBDocumentClient,
  tableName: string,
  clock: Clock,
): PlansRepository {
  return {
    async put(plan) {
      // Gzipped: an ASL definition with its specs can approach DynamoDB's 400 KB item limit.
      const body = await gzipAsync(JSON.stringify(plan));
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              planHash: plan.hash,
              pipeline: plan.pipeline,
              createdAt: clock.now(),
              plan: new Uint8Array(body),
            },
            ConditionExpression: 'attribute_not_exists(planHash)',
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailure(error)) throw error;
      }
    },
    async get(planHash) {
      const out = await client.send(new GetCommand({ TableName: tableName, Key: { planHash } }));
      if (!out.Item) return undefined;
      const body = await gunzipAsync(out.Item.plan as Uint8Array);
      return JSON.parse(body.toString('utf8')) as Plan;
    },
  };
}

export interface DeliveriesRepository {
  /**
   * Marks a webhook delivery id as seen for `ttlSeconds`. false when it was already seen and has not
   * expired (the expiry is compared here: TTL deletion is only garbage collection).
   */
  markSeen(deliveryId: string, ttlSeconds: number): Promise<boolean>;
  /** Forgets a delivery id, so the host's redelivery is handled again (its handling failed). */
  forget(deliveryId: string): Promise<void>;
}

export function createDeliveriesRepository(
  client: DynamoDBDocumentClient,
  tableName: string,
  clock: Clock,
): DeliveriesRepository {
  return {
    async markSeen(deliveryId, ttlSeconds) {
      const now = clock.now();
      const nowSeconds = Math.floor(now / 1000);
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: { deliveryId, seenAt: now, expiresAt: nowSeconds + ttlSeconds },
            ConditionExpression: 'attribute_not_exists(deliveryId) OR expiresAt < :now',
            ExpressionAttributeValues: { ':now': nowSeconds },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionalCheckFailure(error)) return false;
        throw error;
      }
    },

    async forget(deliveryId) {
      await client.send(new DeleteCommand({ TableName: tableName, Key: { deliveryId } }));
    },
  };
}
