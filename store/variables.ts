// Repository and deployment variables, and the deployment environments a repository's pipelines
// name, as items of the repositories table. A secured variable's item holds only what the engine's
// vault answered (a sealed value locally, a parameter name on AWS), never the value.

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

export interface VariableRecord {
  /** `repository` or `deployment:<environment>`. */
  readonly scope: string;
  readonly name: string;
  readonly secured: boolean;
  /** A plain variable's value. */
  readonly value?: string;
  /** A secured variable's reference in the vault. */
  readonly sealed?: string;
  readonly updatedAt: number;
  readonly updatedBy: string;
}

export interface VariablesRepository {
  /** Creates or replaces one variable. */
  put(repository: string, record: VariableRecord): Promise<void>;
  get(repository: string, scope: string, name: string): Promise<VariableRecord | undefined>;
  /** Removes one variable; answers what it was, or undefined when there was none. */
  delete(repository: string, scope: string, name: string): Promise<VariableRecord | undefined>;
  /** Every variable of the repository, by scope then name. */
  list(repository: string): Promise<VariableRecord[]>;
  /** Adds deployment environments the repository's pipelines name (a set: nothing is removed). */
  addEnvironments(repository: string, environments: readonly string[]): Promise<void>;
  environments(repository: string): Promise<string[]>;
}

const PREFIX = 'variable#';
const ENVIRONMENTS_ITEM = 'environments';
const itemOf = (scope: string, name: string) => `${PREFIX}${scope}#${name}`;

function recordOf(item: Record<string, unknown>): VariableRecord {
  return {
    scope: item.scope as string,
    name: item.name as string,
    secured: item.secured === true,
    ...(typeof item.value === 'string' ? { value: item.value } : {}),
    ...(typeof item.sealed === 'string' ? { sealed: item.sealed } : {}),
    updatedAt: Number(item.updatedAt),
    updatedBy: item.updatedBy as string,
  };
}

export function createVariablesRepository(
  client: DynamoDBDocumentClient,
  tableName: string,
): VariablesRepository {
  return {
    async put(repository, record) {
      // One UpdateCommand that sets one of value/sealed and removes the other: a variable turned
      // secured keeps no plain value behind.
      const [kept, dropped] = record.secured ? ['sealed', 'value'] : ['value', 'sealed'];
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { repository, item: itemOf(record.scope, record.name) },
          UpdateExpression:
            'SET #scope = :scope, #name = :name, #secured = :secured, #kept = :kept, #at = :at, #by = :by REMOVE #dropped',
          ExpressionAttributeNames: {
            '#scope': 'scope',
            '#name': 'name',
            '#secured': 'secured',
            '#kept': kept,
            '#dropped': dropped,
            '#at': 'updatedAt',
            '#by': 'updatedBy',
          },
          ExpressionAttributeValues: {
            ':scope': record.scope,
            ':name': record.name,
            ':secured': record.secured,
            ':kept': record.secured ? record.sealed : record.value,
            ':at': record.updatedAt,
            ':by': record.updatedBy,
          },
        }),
      );
    },
    async get(repository, scope, name) {
      const out = await client.send(
        new GetCommand({
          TableName: tableName,
          Key: { repository, item: itemOf(scope, name) },
          ConsistentRead: true,
        }),
      );
      return out.Item ? recordOf(out.Item) : undefined;
    },
    async delete(repository, scope, name) {
      const out = await client.send(
        new DeleteCommand({
          TableName: tableName,
          Key: { repository, item: itemOf(scope, name) },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return out.Attributes ? recordOf(out.Attributes) : undefined;
    },
    async list(repository) {
      const records: VariableRecord[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: '#r = :r AND begins_with(#i, :p)',
            ExpressionAttributeNames: { '#r': 'repository', '#i': 'item' },
            ExpressionAttributeValues: { ':r': repository, ':p': PREFIX },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        records.push(...(out.Items ?? []).map(recordOf));
        start = out.LastEvaluatedKey;
      } while (start);
      return records;
    },
    async addEnvironments(repository, environments) {
      if (environments.length === 0) return;
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { repository, item: ENVIRONMENTS_ITEM },
          UpdateExpression: 'ADD #names :names',
          ExpressionAttributeNames: { '#names': 'names' },
          ExpressionAttributeValues: { ':names': new Set(environments) },
        }),
      );
    },
    async environments(repository) {
      const out = await client.send(
        new GetCommand({
          TableName: tableName,
          Key: { repository, item: ENVIRONMENTS_ITEM },
          ConsistentRead: true,
        }),
      );
      const names = out.Item?.names as Set<string> | undefined;
      return [...(names ?? [])].sort();
    },
  };
}
