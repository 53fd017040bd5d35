// Lock items: holder with lease and fencing token, FIFO waiters, version. The protocol lives in
// core/locks.ts; this module only reads and writes whole lock items, each write conditioned on the
// version that was read (optimistic concurrency) and, when taking a lock, on the lease having
// expired — compared in the condition itself.

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailure, LockConflictError } from './errors';
import type { LockRecord } from './records';

function lockKeyOf(repository: string, key: string): string {
  return `${repository}#${key}`;
}

export interface LockWriteGuard {
  /** The version read; 0 when the lock item did not exist. */
  readonly expectedVersion: number;
  /** The write takes the lock: the previous holder's lease must have ended before this time. */
  readonly leaseExpiredBefore?: number;
}

export interface LocksRepository {
  get(repository: string, key: string): Promise<LockRecord | undefined>;
  /** The locks of one repository, or of all when omitted. */
  list(repository?: string): Promise<LockRecord[]>;
  /** Replaces the lock item if it is still at the expected version; returns it with version + 1. */
  write(next: Omit<LockRecord, 'lockKey' | 'version'>, guard: LockWriteGuard): Promise<LockRecord>;
}

export function createLocksRepository(client: DynamoDBDocumentClient, tableName: string): LocksRepository {
  async function get(repository: string, key: string): Promise<LockRecord | undefined> {
    const out = await client.send(
      new GetCommand({
        TableName: tableName,
        Key: { lockKey: lockKeyOf(repository, key) },
        ConsistentRead: true,
      }),
    );
    return out.Item as LockRecord | undefined;
  }

  return {
    get,

    async list(repository) {
      const locks: LockRecord[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await client.send(
          new ScanCommand({
            TableName: tableName,
            ConsistentRead: true,
            ...(repository
              ? {
                  FilterExpression: '#r = :r',
                  ExpressionAttributeNames: { '#r': 'repository' },
                  ExpressionAttributeValues: { ':r': repository },
                }
              : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        locks.push(...((out.Items ?? []) as LockRecord[]));
        start = out.LastEvaluatedKey;
      } while (start);
      return locks.sort((a, b) => a.lockKey.localeCompare(b.lockKey));
    },

    async write(next, guard) {
      const record: LockRecord = {
        ...next,
        lockKey: lockKeyOf(next.repository, next.key),
        version: guard.expectedVersion + 1,
      };
      const conditions = [
        guard.expectedVersion === 0 ? 'attribute_not_exists(lockKey)' : '#version = :expected',
      ];
      const values: Record<string, unknown> = {};
      if (guard.expectedVersion !== 0) values[':expected'] = guard.expectedVersion;
      if (guard.leaseExpiredBefore !== undefined) {
        conditions.push('(attribute_not_exists(holder) OR holder.leaseUntil < :now)');
        values[':now'] = guard.leaseExpiredBefore;
      }
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: record,
            ConditionExpression: conditions.join(' AND '),
            ...(guard.expectedVersion !== 0 ? { ExpressionAttributeNames: { '#version': 'version' } } : {}),
            ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
          }),
        );
        return record;
      } catch (error) {
        if (!isConditionalCheckFailure(error)) throw error;
        throw new LockConflictError(
          `Lock ${record.lockKey} changed since version ${guard.expectedVersion}`,
          await get(next.repository, next.key),
          { cause: error },
        );
      }
    },
  };
}
