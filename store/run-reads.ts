// Creating a run and reading runs: by id (consistently), by build number, a repository's pages, the
// unfinished ones.

import { PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { TERMINAL_RUN_STATUSES } from '../vocabulary/contract';
import { UsageError } from '../vocabulary/errors';
import { isConditionalCheckFailure, RunConflictError } from './errors';
import { Expression } from './expression';
import type { RunRecord } from './records';
import type { RunAccess } from './run-access';
import { type Item, toRecord } from './run-access';
import type { RunsRepository } from './runs';
import { TABLES } from './tables';

export function runReads({
  client,
  tableName,
  get,
}: RunAccess): Pick<RunsRepository, 'create' | 'getByBuildNumber' | 'list' | 'listUnfinished'> {
  return {
    async create(run) {
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: run,
            ConditionExpression: 'attribute_not_exists(runId)',
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailure(error)) throw error;
        throw new RunConflictError(`Run ${run.runId} already exists`, await get(run.runId), {
          cause: error,
        });
      }
    },

    async getByBuildNumber(repository, buildNumber) {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TABLES.runs.indexes[0].name,
          KeyConditionExpression: '#r = :r AND #b = :b',
          ExpressionAttributeNames: { '#r': 'repository', '#b': 'buildNumber' },
          ExpressionAttributeValues: { ':r': repository, ':b': buildNumber },
        }),
      );
      const item = out.Items?.[0];
      return item ? toRecord(item as Item) : undefined;
    },

    async list(repository, options = {}) {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TABLES.runs.indexes[0].name,
          KeyConditionExpression: '#r = :r',
          ExpressionAttributeNames: { '#r': 'repository' },
          ExpressionAttributeValues: { ':r': repository },
          ScanIndexForward: false,
          Limit: options.limit ?? 25,
          ...(options.cursor ? { ExclusiveStartKey: decodeCursor(options.cursor) } : {}),
        }),
      );
      return {
        items: (out.Items ?? []).map((item) => toRecord(item as Item)),
        ...(out.LastEvaluatedKey ? { cursor: encodeCursor(out.LastEvaluatedKey) } : {}),
      };
    },

    async listUnfinished() {
      const runs: RunRecord[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const e = new Expression();
        e.where(e.not(e.in(['status'], TERMINAL_RUN_STATUSES)));
        const { ConditionExpression, ...names } = e.build();
        const out = await client.send(
          new ScanCommand({
            TableName: tableName,
            FilterExpression: ConditionExpression,
            ...names,
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        runs.push(...(out.Items ?? []).map((item) => toRecord(item as Item)));
        start = out.LastEvaluatedKey;
      } while (start);
      return runs;
    },
  };
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (key && typeof key === 'object' && !Array.isArray(key)) return key;
  } catch {
    // fall through
  }
  throw new UsageError(`Invalid page cursor: ${cursor}`);
}
