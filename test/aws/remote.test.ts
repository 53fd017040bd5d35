// The CLI's transport to a deployed Finale: every request SigV4-signed for execute-api, verified
// here the way API Gateway does (recomputing the signature from the signed headers).

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { remoteTransport } from '../../cli/remote';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
let server: Server;
let base: string;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** API Gateway's check: the same request, signed at the same time with the same key, has the same signature. */
async function verify(request: Received, region: string, credentials = CREDENTIALS): Promise<boolean> {
  const authorization = String(request.headers.authorization);
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)![1]!.split(';');
  const url = new URL(request.url, base);
  const amzDate = String(request.headers['x-amz-date']);
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name])])),
      ...(request.body ? { body: request.body } : {}),
    },
    { signingDate },
  );
  return expected.headers.authorization === authorization;
}

it('signs every request for execute-api in the region, under the stage path, with query and body', async () => {
  const transport = await remoteTransport(
    { endpoint: `${base}/prod/`, region: 'eu-west-1', repository: 'team/app' },
    { credentials: CREDENTIALS },
  );
  expect(transport.description).toBe(`${base}/prod`);
  expect(transport.repository).toBe('team/app');
  const response = await transport.request('POST', '/runs/42/stop?repository=team%2Fapp', {
    mode: 'graceful',
  });
  expect(await response.json()).toEqual({ ok: true });
  const request = received.at(-1)!;
  expect(request.method).toBe('POST');
  expect(request.url).toBe('/prod/runs/42/stop?repository=team%2Fapp');
  expect(JSON.parse(request.body)).toEqual({ mode: 'graceful' });
  expect(String(request.headers.authorization)).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
  );
  expect(await verify(request, 'eu-west-1')).toBe(true);
  expect(await verify(request, 'eu-west-1', { ...CREDENTIALS, secretAccessKey: 'other' })).toBe(false);

  await transport.request('GET', '/runs?repository=team%2Fapp&limit=5');
  expect(await verify(received.at(-1)!, 'eu-west-1')).toBe(true);
});

it("takes the region from an execute-api host name, and asks for one when it can't", async () => {
  const seen: Request[] = [];
  const transport = await remoteTransport(
    { endpoint: 'https://a1b2c3.execute-api.eu-central-1.amazonaws.com' },
    {
      credentials: CREDENTIALS,
      fetch: async (input, init) => {
        seen.push(new Request(input, init));
        return new Response('{}');
      },
    },
  );
  await transport.request('GET', '/health');
  expect(seen[0]!.url).toBe('https://a1b2c3.execute-api.eu-central-1.amazonaws.com/health');
  expect(seen[0]!.headers.get('authorization')).toContain('/eu-central-1/execute-api/aws4_request');
  await expect(
    remoteTransport({ endpoint: 'https://finale.example.com' }, { credentials: CREDENTIALS }),
  ).rejects.toThrow('cannot tell the AWS region of finale.example.com: set AWS_REGION');
  await expect(remoteTransport({ endpoint: 'not a url', region: 'x' })).rejects.toThrow(/is not a URL/);
});

it('signs with the named AWS profile', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'finale-remote-'));
  const saved = { ...process.env };
  try {
    await writeFile(
      join(dir, 'credentials'),
      '[ci]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n',
    );
    await writeFile(join(dir, 'config'), '[profile ci]\nregion = eu-west-1\n');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
    process.env.AWS_CONFIG_FILE = join(dir, 'config');
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const transport = await remoteTransport({ endpoint: base, region: 'eu-west-1', profile: 'ci' });
    await transport.request('GET', '/health');
    const request = received.at(-1)!;
    expect(String(request.headers.authorization)).toContain('Credential=AKIDPROFILE/');
    expect(
      await verify(request, 'eu-west-1', { accessKeyId: 'AKIDPROFILE', secretAccessKey: 'profile-secret' }),
    ).toBe(true);
  } finally {
    process.env = saved;
    await rm(dir, { recursive: true, force: true });
  }
});
