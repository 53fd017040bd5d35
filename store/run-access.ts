// What the parts of the runs repository share: the table, the record's key and step paths, a
// consistent read, and one conditional update that bumps `version` and throws RunConflictError.

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RunStatus } from '../vocabulary/contract';
import { isConditionalCheckFailure, RunConflictError } from './errors';
import { Expression } from './expression';
import type { RunRecord } from './records';

export type Item = RunRecord & { expiresAt?: number };

/**
 * Statuses in which steps may begin and locks be taken: PAUSED too, since one branch of a parallel
 * group may wait for its approval while its siblings go on.
 */
export const ACTIVE: readonly RunStatus[] = ['RUNNING', 'PAUSED'];

export interface RunAccess {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  runKey(runId: string): { runId: string };
  stepPath(step: number, field: string): string[];
  get(runId: string): Promise<RunRecord | undefined>;
  /** One conditional update of an existing run; `describe` names the operation in errors. */
  update(runId: string, describe: string, build: (e: Expression) => void): Promise<RunRecord>;
}

export function createRunAccess(client: DynamoDBDocumentClient, tableName: string): RunAccess {
  const runKey = (runId: string) => ({ runId });
  const stepPath = (step: number, field: string) => ['steps', String(step), field];

  async function get(runId: string): Promise<RunRecord | undefined> {
    const out = await client.send(
      new GetCommand({ TableName: tableName, Key: runKey(runId), ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item as Item) : undefined;
  }

  /** One conditional update of an existing run; `describe` names the operation in errors. */
  async function update(runId: string, describe: string, build: (e: Expression) => void): Promise<RunRecord> {
    const e = new Expression();
    e.where(e.exists(['runId']));
    build(e);
    e.add(['version'], 1);
    try {
      const out = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: runKey(runId),
          ReturnValues: 'ALL_NEW',
          ...e.build(),
        }),
      );
      return toRecord(out.Attributes as Item);
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      const current = await get(runId);
      const state = current ? `it is ${current.status} (phase ${current.phase})` : 'it does not exist';
      throw new RunConflictError(`Run ${runId}: cannot ${describe}: ${state}`, current, {
        cause: error,
      });
    }
  }

  return { client, tableName, runKey, stepPath, get, update };
}

export function toRecord(item: Item): RunRecord {
  const { expiresAt: _expiresAt, ...record } = item;
  return record;
}
