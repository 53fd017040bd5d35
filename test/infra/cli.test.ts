// `cdk synth` itself (aws-cdk CLI, cdk.json's app), offline: no credentials, no lookups, telemetry off,
// cdk-nag and CloudFormation validation on; and the context the app reads its settings from.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RemovalPolicy } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { finalePropsFromContext } from '../../infra/context';
import { ROOT } from './synth';

const run = promisify(execFile);

describe('cdk synth', () => {
  it('synthesizes the app offline, with an existing VPC and a prefix from the command line', async () => {
    const out = mkdtempSync(join(tmpdir(), 'finale-cdk-cli-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      // Nothing to find: no profile, no instance metadata, an empty home for credentials and config.
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SHARED_CREDENTIALS_FILE: join(out, 'none'),
      AWS_CONFIG_FILE: join(out, 'none'),
    };
    for (const name of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
      delete env[name];
    }
    const { stderr } = await run(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'),
        'synth',
        '--quiet',
        '--output',
        out,
        '--context',
        'vpcId=vpc-0123abcd',
        '--context',
        'subnetIds=subnet-0a0a0a0a,subnet-0b0b0b0b',
        '--context',
        'resourcePrefix=ci',
        '--context',
        'agentImageUri=public.ecr.aws/finale/agent:cli',
      ],
      { cwd: ROOT, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stderr).not.toMatch(/AwsSolutions-|Validation failed|\[Error/);

    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.missing ?? []).toEqual([]);
    expect(manifest.artifacts.Finale.environment).toBe('aws://unknown-account/unknown-region');
    const template = JSON.parse(readFileSync(join(out, 'Finale.template.json'), 'utf8'));
    const types = Object.values(template.Resources).map((resource) => (resource as { Type: string }).Type);
    expect(types).not.toContain('AWS::EC2::VPC');
    const functions = Object.values(template.Resources).filter(
      (resource) => (resource as { Type: string }).Type === 'AWS::Lambda::Function',
    ) as { Properties: { FunctionName: string; Environment: { Variables: Record<string, unknown> } } }[];
    expect(functions.map((fn) => fn.Properties.FunctionName).sort()).toEqual([
      'ci-api',
      'ci-control',
      'ci-events',
      'ci-webhook',
    ]);
    expect(functions[0]!.Properties.Environment.Variables).toMatchObject({
      FINALE_SUBNETS: 'subnet-0a0a0a0a,subnet-0b0b0b0b',
      FINALE_AGENT_IMAGE: 'public.ecr.aws/finale/agent:cli',
      FINALE_RESOURCE_PREFIX: 'ci',
    });
    expect(Object.keys(template.Outputs).sort()).toEqual([
      'ApiUrl',
      'ArtifactsBucketName',
      'DashboardName',
      'HostTokenSecretArn',
      'WebhookSecretArn',
      'WebhookUrlBitbucketCloud',
      'WebhookUrlBitbucketDataCenter',
      'WebhookUrlGitHub',
    ]);
  });
});

describe('context', () => {
  const from = (values: Record<string, unknown>) => finalePropsFromContext((key) => values[key]);

  it('reads strings from the command line and typed values from cdk.json', () => {
    expect(
      from({
        resourcePrefix: 'ci',
        natGateways: '0',
        maxAzs: 3,
        logRetentionDays: '14',
        removalPolicy: 'destroy',
      }),
    ).toEqual({
      resourcePrefix: 'ci',
      natGateways: 0,
      maxAzs: 3,
      logRetention: 14,
      removalPolicy: RemovalPolicy.DESTROY,
      existingVpc: undefined,
      agentImage: undefined,
    });
    expect(
      from({
        vpcId: 'vpc-0123abcd',
        subnetIds: 'subnet-0a0a0a0a, subnet-0b0b0b0b',
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        assignPublicIp: 'true',
        agentImageUri: 'public.ecr.aws/x/agent:1',
      }),
    ).toMatchObject({
      existingVpc: {
        vpcId: 'vpc-0123abcd',
        subnetIds: ['subnet-0a0a0a0a', 'subnet-0b0b0b0b'],
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        assignPublicIp: true,
      },
      agentImage: { imageUri: 'public.ecr.aws/x/agent:1' },
    });
  });

  it.each([
    [{ natGateways: 'two' }, /context natGateways must be a number \(got "two"\)/],
    [{ removalPolicy: 'snapshot' }, /context removalPolicy must be retain or destroy \(got "snapshot"\)/],
    [{ subnetIds: 'subnet-0a0a0a0a' }, /context subnetIds needs vpcId/],
    [
      { vpcId: 'vpc-0123abcd', assignPublicIp: 'yes' },
      /context assignPublicIp must be true or false \(got "yes"\)/,
    ],
  ])('rejects %j', (values, message) => {
    expect(() => from(values)).toThrow(message);
  });
});
