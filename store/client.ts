// The DynamoDB document client every repository goes through. Locally (dynalite) any static
// credentials do; on AWS the default provider chain applies.

import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from './tables';
import { TABLES } from './tables';

export interface DocumentClientOptions {
  /** e.g. `http://127.0.0.1:4567` for dynalite; omitted on AWS. */
  readonly endpoint?: string;
  /** @default process.env.AWS_REGION, else 'us-east-1' */
  readonly region?: string;
  /** @default static dummy credentials when an endpoint is given, else the default provider chain */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** SDK attempts per request. @default 3 */
  readonly maxAttempts?: number;
  /** @default SigV4 */
  readonly signer?: DynamoDBClientConfig['signer'];
  /** @default the SDK's HTTP handler */
  readonly requestHandler?: DynamoDBClientConfig['requestHandler'];
}

export function createDocumentClient(options: DocumentClientOptions = {}): DynamoDBDocumentClient {
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const credentials =
    options.credentials ??
    (options.endpoint ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined);
  const client = new DynamoDBClient({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    ...(options.signer ? { signer: options.signer } : {}),
    ...(options.requestHandler ? { requestHandler: options.requestHandler } : {}),
  });
  return DynamoDBDocumentClient.from(client, {
    // Records have optional fields; an undefined one is simply not stored.
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** Table names with a prefix, as the embedded engine names them (`finale-runs`, …). */
export function prefixedTableNames(prefix: string): TableNames {
  return Object.fromEntries(Object.keys(TABLES).map((table) => [table, `${prefix}${table}`])) as TableNames;
}
