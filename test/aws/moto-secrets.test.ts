// The Lambdas' secret reader against moto's Secrets Manager: GetSecretValue by name and by ARN answers
// the secret's string; within the cache's lifetime a rotated value is not fetched again, after it the
// new one is; a missing secret rejects with Secrets Manager's own ResourceNotFoundException and is not
// cached, so a secret created afterwards is read; a binary-only secret is an error, not a value.

import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { beforeAll, expect, it } from 'vitest';
import { secretReader } from '../../aws/secrets';
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from '../support/moto';

const moto = useMoto();
let client: SecretsManagerClient;
beforeAll(() => {
  client = new SecretsManagerClient(moto.clientConfig);
});

/** Counts the GetSecretValue requests that reach moto. */
function countGets(target: SecretsManagerClient) {
  const counted = { gets: 0 };
  target.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetSecretValueCommand') counted.gets++;
      return next(args);
    },
    { step: 'initialize', name: 'countGets' },
  );
  return counted;
}

it('reads a secret by name and by ARN, caching it until the TTL passes', async () => {
  const created = await client.send(
    new CreateSecretCommand({ Name: 'finale/host-token', SecretString: 'token-1' }),
  );
  expect(created.ARN).toMatch(
    new RegExp(`^arn:aws:secretsmanager:${MOTO_REGION}:${MOTO_ACCOUNT}:secret:finale/host-token-\\w{6}$`),
  );
  const counting = new SecretsManagerClient(moto.clientConfig);
  const counted = countGets(counting);
  let now = 1_000_000;
  const reader = secretReader(counting, { ttlMs: 60_000, now: () => now });

  expect(await reader.get('finale/host-token')).toBe('token-1');
  expect(await reader.get(created.ARN!)).toBe('token-1');
  expect(counted.gets).toBe(2);

  await client.send(new PutSecretValueCommand({ SecretId: created.ARN!, SecretString: 'token-2' }));
  now += 59_999;
  expect(await reader.get('finale/host-token')).toBe('token-1');
  expect(counted.gets).toBe(2);
  now += 1;
  expect(await reader.get('finale/host-token')).toBe('token-2');
  expect(counted.gets).toBe(3);
});

it("rejects a missing secret with Secrets Manager's error and does not cache the failure", async () => {
  const counting = new SecretsManagerClient(moto.clientConfig);
  const counted = countGets(counting);
  const reader = secretReader(counting, { ttlMs: 60_000, now: () => 0 });
  const missing = reader.get('finale/not-yet');
  await expect(missing).rejects.toBeInstanceOf(ResourceNotFoundException);
  await expect(missing).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

  await client.send(new CreateSecretCommand({ Name: 'finale/not-yet', SecretString: 'now-there' }));
  expect(await reader.get('finale/not-yet')).toBe('now-there');
  expect(counted.gets).toBe(2);
});

it('refuses a secret that holds only binary', async () => {
  await client.send(
    new CreateSecretCommand({ Name: 'finale/binary', SecretBinary: new Uint8Array([0, 1, 2, 255]) }),
  );
  const reader = secretReader(client);
  await expect(reader.get('finale/binary')).rejects.toThrow('secret finale/binary has no string value');
});
