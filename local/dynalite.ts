// The embedded DynamoDB: a dynalite server on 127.0.0.1, in memory or persisted in a directory,
// with Finale's tables created from store/tables.ts. Starting is a matter of milliseconds.

import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, type DocumentClientOptions, prefixedTableNames } from '../store/client';
import { createTableInput, TABLES, type TableName, type TableNames } from '../store/tables';

// dynalite ships no type declarations: this is the part of its API used here.
type DynaliteFactory = (options: { path?: string; createTableMs?: number; deleteTableMs?: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

/** Static credentials for the local endpoint (dynalite checks that a signature is present, not its key). */
export const LOCAL_CREDENTIALS = { accessKeyId: 'finale-local', secretAccessKey: 'finale-local' } as const;
export const LOCAL_REGION = 'us-east-1';
/**
 * What dynalite checks of a signature: an Authorization header of the right shape and a date, not
 * the signature itself. Computing SigV4 for every request took about 5% of the fault simulation's
 * CPU, so local requests carry a fixed one.
 */
const LOCAL_SIGNER: DocumentClientOptions['signer'] = {
  async sign(request) {
    request.headers.authorization = `AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/20260101/${LOCAL_REGION}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0`;
    request.headers['x-amz-date'] = '20260101T000000Z';
    return request;
  },
};

/** The document client of the embedded store. */
export function localDocumentClient(
  dynamo: Pick<LocalDynamo, 'endpoint' | 'requestHandler'>,
): DynamoDBDocumentClient {
  return createDocumentClient({
    endpoint: dynamo.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    signer: LOCAL_SIGNER,
    ...(dynamo.requestHandler ? { requestHandler: dynamo.requestHandler } : {}),
  });
}

/** Table names of the embedded engine. */
export const LOCAL_TABLES: TableNames = prefixedTableNames('finale-');

interface DynaliteOptions {
  /** Directory of the LevelDB database; in memory when omitted. */
  readonly path?: string;
  /** @default 0, a random free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default LOCAL_TABLES */
  readonly tables?: TableNames;
}

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  readonly tables: TableNames;
  /** Stops the server and closes the database (persisted data stays on disk). */
  close(): Promise<void>;
  /** Hands a request to the server in this process, without a socket (absent: use the endpoint). */
  readonly requestHandler?: RequestHandler;
}

type RequestHandler = NonNullable<DynamoDBClientConfig['requestHandler']>;
/** The part of the SDK's HttpRequest used here. */
interface SignedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

/**
 * An SDK request handler that gives requests to dynalite's own request listener in this process:
 * the same handling, minus an HTTP client, a loopback socket and an HTTP parser on each side (a
 * third of the fault simulation's time went there). The listening port stays, for other clients.
 */
function inProcessHandler(server: Server, closed: () => boolean): RequestHandler {
  return {
    handle: (request: SignedRequest) =>
      new Promise((resolve, reject) => {
        // As a request to a closed server's port would be.
        if (closed())
          return reject(Object.assign(new Error('the local store has closed'), { code: 'ECONNREFUSED' }));
        const incoming = Object.assign(new EventEmitter(), {
          method: request.method,
          url: request.path,
          headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])),
        });
        const headers: Record<string, string> = {};
        const response = Object.assign(new EventEmitter(), {
          statusCode: 200,
          contentType: undefined as string | undefined,
          setHeader(name: string, value: string | number) {
            headers[name.toLowerCase()] = String(value);
          },
          end(body?: string) {
            resolve({
              response: {
                statusCode: response.statusCode,
                headers,
                body: Buffer.from(body ?? '', 'utf8'),
              },
            } as never);
            response.emit('close');
          },
        });
        try {
          server.emit('request', incoming, response);
          // The SDK's JSON body is a Uint8Array that also acts as a string (its length is the string's).
          const { body } = request;
          const bytes =
            body instanceof Uint8Array
              ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
              : typeof body === 'string'
                ? Buffer.from(body, 'utf8')
                : undefined;
          if (bytes?.byteLength) incoming.emit('data', bytes);
          incoming.emit('end');
        } catch (error) {
          reject(error);
        }
      }),
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  } as unknown as RequestHandler;
}

export async function startDynalite(options: DynaliteOptions = {}): Promise<LocalDynamo> {
  const host = options.host ?? '127.0.0.1';
  const tables = options.tables ?? LOCAL_TABLES;
  const server = dynalite({
    ...(options.path ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${host}:${port}`;
  // Requests in flight when it closes finish first: dynalite throws from a request it handles after
  // its database has closed (an uncaught exception), and an engine that stops may still have some.
  let inFlight = 0;
  let drained: (() => void) | undefined;
  server.on('request', (_request, response) => {
    inFlight++;
    response.once('close', () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve, reject) => {
      server.close((error?: Error) => (error ? reject(error) : resolve()));
      const idle = inFlight === 0 ? Promise.resolve() : new Promise<void>((done) => (drained = done));
      // SDK clients keep connections alive, which would hold close() until they idle out.
      void Promise.race([idle, new Promise((done) => setTimeout(done, 2000).unref())]).then(() =>
        server.closeAllConnections(),
      );
    });
    return closed;
  };
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await ensureTables(client, tables);
  } catch (error) {
    await close();
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    port,
    tables,
    close,
    requestHandler: inProcessHandler(server, () => closed !== undefined),
  };
}

/**
 * Creates the tables that do not exist yet and waits until they are active. Existing tables (a
 * persisted database) keep their data.
 */
async function ensureTables(client: DynamoDBClient, tables: TableNames): Promise<void> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const out = await client.send(new ListTablesCommand(start ? { ExclusiveStartTableName: start } : {}));
    for (const name of out.TableNames ?? []) existing.add(name);
    start = out.LastEvaluatedTableName;
  } while (start);
  const missing = (Object.keys(TABLES) as TableName[]).filter((table) => !existing.has(tables[table]));
  await Promise.all(
    missing.map(async (table) => {
      await client.send(new CreateTableCommand(createTableInput(TABLES[table], tables[table])));
      await waitUntilActive(client, tables[table]);
    }),
  );
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`Table ${tableName} did not become active`);
}
