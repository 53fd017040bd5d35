// The DynamoDB tables, built from the one description in store/tables.ts that local/ also uses, so the
// two engines cannot disagree on keys, indexes or expiry attributes.

import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLES, type TableName, type TableNames, type TableSpec } from '../store/tables';

interface FinaleTablesProps {
  readonly removalPolicy: RemovalPolicy;
  /** A customer managed key; absent: the AWS managed key `aws/dynamodb`. */
  readonly encryptionKey?: kms.IKey;
}

const attributeType = (type: 'S' | 'N') =>
  type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER;

export class FinaleTables extends Construct {
  readonly tables: Readonly<Record<TableName, dynamodb.Table>>;

  constructor(scope: Construct, id: string, props: FinaleTablesProps) {
    super(scope, id);
    const tables: Partial<Record<TableName, dynamodb.Table>> = {};
    for (const [key, spec] of Object.entries(TABLES) as [TableName, TableSpec][]) {
      // The construct id is the spec's stable name: renaming it would replace the table and lose its data.
      const table = new dynamodb.Table(this, spec.name, {
        partitionKey: { name: spec.partitionKey.name, type: attributeType(spec.partitionKey.type) },
        sortKey: spec.sortKey && { name: spec.sortKey.name, type: attributeType(spec.sortKey.type) },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: props.encryptionKey
          ? dynamodb.TableEncryption.CUSTOMER_MANAGED
          : dynamodb.TableEncryption.AWS_MANAGED,
        encryptionKey: props.encryptionKey,
        // TTL only collects garbage: readers compare the expiry themselves (deletion takes up to two days).
        timeToLiveAttribute: spec.ttlAttribute,
        removalPolicy: props.removalPolicy,
      });
      for (const index of spec.indexes ?? []) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: { name: index.partitionKey.name, type: attributeType(index.partitionKey.type) },
          sortKey: index.sortKey && { name: index.sortKey.name, type: attributeType(index.sortKey.type) },
          projectionType: dynamodb.ProjectionType.ALL,
        });
      }
      tables[key] = table;
    }
    this.tables = tables as Record<TableName, dynamodb.Table>;
  }

  /** The deployed names, in the shape the Lambdas read back from their environment. */
  get names(): TableNames {
    return Object.fromEntries(
      Object.entries(this.tables).map(([key, table]) => [key, table.tableName]),
    ) as unknown as TableNames;
  }
}
