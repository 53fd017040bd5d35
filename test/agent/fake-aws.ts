// Test helper: a local HTTP endpoint for the two AWS services the step-task program calls besides
// DynamoDB (which is dynalite): Secrets Manager's GetSecretValue (JSON protocol) and S3 objects
// (path-style PUT/GET). Every request is recorded, so tests can assert what was asked.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAws {
  readonly url: string;
  readonly secrets: Map<string, string>;
  /** `bucket/key` → body */
  readonly objects: Map<string, Buffer>;
  readonly requests: { method: string; path: string; target?: string; body: string }[];
  close(): Promise<void>;
}

export async function startFakeAws(): Promise<FakeAws> {
  const secrets = new Map<string, string>();
  const objects = new Map<string, Buffer>();
  const requests: FakeAws['requests'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      const target = req.headers['x-amz-target'] as string | undefined;
      requests.push({
        method: req.method ?? '',
        path,
        ...(target ? { target } : {}),
        body: body.toString('utf8'),
      });
      if (target === 'secretsmanager.GetSecretValue') {
        const { SecretId } = JSON.parse(body.toString('utf8')) as { SecretId: string };
        const value = secrets.get(SecretId);
        if (value === undefined) {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no such secret' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ ARN: SecretId, Name: SecretId, SecretString: value }));
        return;
      }
      const key = path.slice(1);
      if (req.method === 'PUT') {
        objects.set(key, body);
        res.writeHead(200, { etag: '"x"' }).end();
        return;
      }
      if (req.method === 'GET') {
        const object = objects.get(key);
        if (!object) {
          res.writeHead(404, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>none</Message></Error>');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': object.length });
        res.end(object);
        return;
      }
      res.writeHead(405).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    secrets,
    objects,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
