// The AWS vault's names, without AWS: where each secured variable's parameter is, that every SSM name
// is one SSM accepts, that no two variables share one, and what the vault refuses to do. The calls
// themselves run against moto in moto-vault.test.ts.

import { KMSClient } from '@aws-sdk/client-kms';
import { DeleteParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parameterArn, parameterName, ssmVault } from '../../aws/vault';
import type { VaultAddress } from '../../core/ports';
import { FinaleError } from '../../vocabulary/errors';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const region = 'eu-west-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The inverse of parameterName, as an oracle: reads a name back from the right. */
function addressOf(prefix: string, name: string): VaultAddress {
  const start = `/${prefix}/variables/`;
  expect(name.startsWith(start)).toBe(true);
  const parts = name.slice(start.length).split('/');
  const variable = parts.pop()!;
  let scope = 'repository';
  if (parts.at(-1) === 'repository') parts.pop();
  else {
    const environment = decode(parts.pop()!);
    expect(parts.pop()).toBe('deployment');
    scope = `deployment:${environment}`;
  }
  return { repository: parts.map(decode).join('/'), scope, name: variable };
}

function decode(segment: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    const escaped = /^_([0-9A-F]{2})/.exec(segment.slice(i));
    if (escaped) {
      bytes.push(Number.parseInt(escaped[1]!, 16));
      i += 2;
    } else bytes.push(...Buffer.from(segment[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** SSM's rule for a hierarchical name: `/`-separated non-empty parts of a-zA-Z0-9_.- only. */
const SSM_NAME = /^(\/[A-Za-z0-9_.-]+)+$/;

describe('parameter names', () => {
  it('keeps a repository a path and a deployment scope two parts', () => {
    expect(parameterName('finale', { repository: 'acme/app', scope: 'repository', name: 'NPM_TOKEN' })).toBe(
      '/finale/variables/acme/app/repository/NPM_TOKEN',
    );
    expect(
      parameterName('ci', { repository: 'acme/my_app.web', scope: 'deployment:staging', name: 'KEY' }),
    ).toBe('/ci/variables/acme/my_app.web/deployment/staging/KEY');
  });

  it('escapes what SSM does not allow, reversibly', () => {
    expect(
      parameterName('finale', { repository: 'acme/app', scope: 'deployment:Prod EU/1', name: 'K' }),
    ).toBe('/finale/variables/acme/app/deployment/Prod_20EU_2F1/K');
    // An underscore that reads like an escape is escaped itself; others stay.
    expect(parameterName('finale', { repository: 'a_2F/b_x', scope: 'repository', name: 'K' })).toBe(
      '/finale/variables/a_5F2F/b_x/repository/K',
    );
    expect(parameterName('finale', { repository: 'ä/b', scope: 'repository', name: 'K' })).toBe(
      '/finale/variables/_C3_A4/b/repository/K',
    );
    // No empty part: such a repository becomes one part.
    expect(parameterName('finale', { repository: 'a//b', scope: 'repository', name: 'K' })).toBe(
      '/finale/variables/a_2F_2Fb/repository/K',
    );
  });

  it('gives no two variables one parameter, not even a repository ending in "deployment"', () => {
    const a = parameterName('p', { repository: 'acme/deployment', scope: 'repository', name: 'K' });
    const b = parameterName('p', { repository: 'acme', scope: 'deployment:repository', name: 'K' });
    expect(a).toBe('/p/variables/acme/deployment/repository/K');
    expect(b).toBe('/p/variables/acme/deployment/_72epository/K');
    expect(addressOf('p', b)).toEqual({ repository: 'acme', scope: 'deployment:repository', name: 'K' });
    const text = fc.string({
      unit: fc.constantFrom('a', 'B', '1', '_', '/', '.', '-', ' ', 'F', 'é', '2'),
      minLength: 1,
    });
    const address = fc.record({
      repository: text,
      scope: fc.oneof(
        fc.constant('repository'),
        text.map((environment) => `deployment:${environment}`),
      ),
      name: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/),
    });
    fc.assert(
      fc.property(address, (given) => {
        const name = parameterName('finale', given);
        expect(name).toMatch(SSM_NAME);
        expect(addressOf('finale', name)).toEqual(given);
      }),
      { numRuns: 2000 },
    );
  });

  it("names a parameter by its ARN in the deployment's region and account", () => {
    expect(
      parameterArn(
        { partition: 'aws', region, account: '123456789012' },
        '/finale/variables/acme/app/repository/K',
      ),
    ).toBe('arn:aws:ssm:eu-west-1:123456789012:parameter/finale/variables/acme/app/repository/K');
  });
});

describe('the vault refuses', () => {
  const ssm = new SSMClient({ region, credentials });
  const vault = ssmVault({
    ssm,
    kms: new KMSClient({ region, credentials }),
    keyArn: 'arn:aws:kms:eu-west-1:123456789012:key/k',
    prefix: 'finale',
  });

  it('to read a secured value back: on AWS only ECS does', async () => {
    const error = await vault.reveal('/finale/variables/acme/app/repository/K').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FinaleError);
    expect((error as Error).message).toMatch(/never reads a secured value back: ECS's execution role/);
  });

  it("to delete a parameter outside the deployment's variables", async () => {
    const mock = mockClient(ssm);
    await expect(vault.remove('/other/secret')).rejects.toThrow(/not a parameter of Finale's variables/);
    expect(mock.commandCalls(DeleteParameterCommand)).toHaveLength(0);
    mock.restore();
  });

  it('to take any failure but a missing parameter for a removal', async () => {
    const mock = mockClient(ssm);
    mock
      .on(DeleteParameterCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    await expect(vault.remove('/finale/variables/acme/app/repository/K')).rejects.toThrow('not authorized');
    mock.restore();
  });

  it('to open what it did not seal', async () => {
    await expect(vault.unseal('sealed:v1:abc')).rejects.toThrow(/not in the AWS vault's format/);
  });
});
