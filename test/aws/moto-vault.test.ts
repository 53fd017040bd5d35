// The AWS vault against moto's SSM and KMS: a secured variable becomes a standard-tier SecureString
// under the deployment's key and goes again when unset; a secured output variable is sealed under
// the key with Finale's encryption context, opens only with it, and may be larger than KMS's 4 KB.

import { CreateKeyCommand, DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  DescribeParametersCommand,
  GetParameterCommand,
  ParameterNotFound,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { OUTPUT_CONTEXT, ssmVault } from '../../aws/vault';
import { setVariable, unsetVariable } from '../../core/repository-variables';
import { alice, useCoreHarness } from '../core/fixtures';
import { useMoto } from '../support/moto';

const moto = useMoto();
const h = useCoreHarness();
const SECRET = 'ssh-ed25519-private-9f8e7d6c5b4a';

let ssm: SSMClient;
let kms: KMSClient;
let keyArn: string;
beforeAll(async () => {
  ssm = new SSMClient(moto.clientConfig);
  kms = new KMSClient(moto.clientConfig);
  keyArn = (await kms.send(new CreateKeyCommand({ Description: 'variables' }))).KeyMetadata!.Arn!;
});
const vault = (prefix = 'finale', key = keyArn) => ssmVault({ ssm, kms, keyArn: key, prefix });

const parameter = async (name: string) => {
  const [got, described] = await Promise.all([
    ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })),
    ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [name] }] })),
  ]);
  return { ...got.Parameter, ...described.Parameters?.[0] };
};

describe('secured variables as SSM parameters', () => {
  it('puts a standard SecureString under the key, overwrites it, and deletes it', async () => {
    const address = { repository: 'acme/app', scope: 'deployment:staging', name: 'DEPLOY_KEY' };
    const reference = await vault().put(address, SECRET);
    expect(reference).toBe('/finale/variables/acme/app/deployment/staging/DEPLOY_KEY');
    expect(await parameter(reference)).toMatchObject({
      Name: reference,
      Type: 'SecureString',
      Tier: 'Standard',
      KeyId: keyArn,
      Value: SECRET,
      Version: 1,
    });

    expect(await vault().put(address, `${SECRET}-2`)).toBe(reference);
    expect(await parameter(reference)).toMatchObject({ Value: `${SECRET}-2`, Version: 2 });

    await vault().remove(reference);
    await expect(ssm.send(new GetParameterCommand({ Name: reference }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
    // Gone already (by hand, or an earlier attempt): still removed.
    await expect(vault().remove(reference)).resolves.toBeUndefined();
  });

  it('through the core: the store keeps the parameter name only, and unset deletes the parameter', async () => {
    const deps = { ...h.deps, vault: vault() };
    const repository = h.repository();
    await setVariable({ repository, caller: alice, name: 'NPM_TOKEN', value: SECRET, secured: true }, deps);
    const reference = `/finale/variables/${repository}/repository/NPM_TOKEN`;
    const items = await h.db.client.send(new ScanCommand({ TableName: h.db.tables.repositories }));
    const stored = JSON.stringify(items.Items?.filter((item) => item.repository === repository));
    expect(stored).not.toContain(SECRET);
    expect(stored).toContain(JSON.stringify(reference));
    expect((await parameter(reference)).Value).toBe(SECRET);

    await unsetVariable({ repository, caller: alice, name: 'NPM_TOKEN' }, deps);
    await expect(ssm.send(new GetParameterCommand({ Name: reference }))).rejects.toBeInstanceOf(
      ParameterNotFound,
    );
  });
});

describe('secured output variables sealed with KMS', () => {
  it('seals and opens any value, larger than 4 KB too, never the same way twice', async () => {
    const large = `KUBECONFIG token ${SECRET} ${'é'.repeat(5000)}`;
    for (const value of [SECRET, large]) {
      const first = await vault().seal(value);
      const second = await vault().seal(value);
      expect(first).toMatch(/^kms:v1:[A-Za-z0-9+/]+=*$/);
      expect(first).not.toContain(SECRET);
      expect(first).not.toBe(second);
      expect(await vault().unseal(first)).toBe(value);
    }
  });

  it("opens only with Finale's encryption context, under its own key, and unaltered", async () => {
    const sealed = await vault().seal(SECRET);
    const raw = Buffer.from(sealed.slice('kms:v1:'.length), 'base64');
    const wrappedKey = raw.subarray(2, 2 + raw.readUInt16BE(0));
    // The data key opens with the context IAM grants the step tasks, and with no other.
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: wrappedKey, EncryptionContext: OUTPUT_CONTEXT })),
    ).resolves.toMatchObject({ KeyId: keyArn });
    await expect(
      kms.send(new DecryptCommand({ CiphertextBlob: wrappedKey, EncryptionContext: { finale: 'other' } })),
    ).rejects.toThrow();
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: wrappedKey }))).rejects.toThrow();

    const otherKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    await expect(vault('finale', otherKey).unseal(sealed)).rejects.toThrow();

    const tampered = Buffer.from(raw);
    tampered[tampered.length - 1]! ^= 1;
    await expect(vault().unseal(`kms:v1:${tampered.toString('base64')}`)).rejects.toThrow(
      /unable to authenticate/,
    );
  });
});
