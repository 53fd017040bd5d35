// The Finale construct's props: each one changes what it says, a bad value fails naming the prop and the
// value, and the construct embeds in someone else's stack.

import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../aws/config';
import { Finale, type FinaleProps } from '../../infra/finale';
import { AGENT_CONTEXT, FinaleStepTasks } from '../../infra/step-tasks';
import { FinalePropsError } from '../../infra/validate';
import { FinaleError } from '../../vocabulary/errors';
import { ROOT, showDeep, statementsOf, synthFinale, TEST_AGENT_IMAGE } from './synth';

const quick = { bundle: false } as const;

/** The environment of the webhook function, readable. */
const environment = (synth: ReturnType<typeof synthFinale>) => {
  const [, fn] = Object.entries(synth.template.findResources('AWS::Lambda::Function')).find(
    ([id]) => synth.aliases.get(id) === 'Functions/webhook',
  )!;
  return showDeep(synth, fn.Properties.Environment.Variables) as Record<string, string>;
};

describe('validation', () => {
  const attempt = (props: FinaleProps) => () => new Finale(new Stack(new App(), 'Test'), 'Finale', props);

  it.each<[string, FinaleProps, RegExp]>([
    ['a prefix with an underscore', { resourcePrefix: 'my_ci' }, /resourcePrefix .* \(got "my_ci"\)/],
    ['an empty prefix', { resourcePrefix: '' }, /resourcePrefix .* \(got ""\)/],
    ['a prefix ending in a hyphen', { resourcePrefix: 'ci-' }, /resourcePrefix .* \(got "ci-"\)/],
    ['a prefix of 33 characters', { resourcePrefix: 'a'.repeat(33) }, /resourcePrefix/],
    ['a token prefix', { resourcePrefix: Token.asString({ Ref: 'Prefix' }) }, /resourcePrefix .*not a token/],
    [
      'a prefix SSM reserves',
      { resourcePrefix: 'ssm-ci' },
      /resourcePrefix must not start with "aws" or "ssm"/,
    ],
    [
      'more NAT gateways than zones',
      { natGateways: 3 },
      /natGateways must be a whole number from 0 to 2 \(got 3\)/,
    ],
    ['a fractional NAT gateway count', { natGateways: 1.5 }, /natGateways .* \(got 1\.5\)/],
    ['zero zones', { maxAzs: 0 }, /maxAzs must be a whole number from 1 to 6 \(got 0\)/],
    [
      'an expiry shorter than a day',
      { artifactsExpiration: Duration.hours(12) },
      /artifactsExpiration .* \(got 12 hours\)/,
    ],
    ['a threshold above 100', { successRateAlarmThreshold: 150 }, /successRateAlarmThreshold .* \(got 150\)/],
    [
      'a retention CloudWatch does not offer',
      { logRetention: 10 as logs.RetentionDays },
      /logRetention .* \(got 10\)/,
    ],
    [
      'a zero API rate',
      { apiThrottle: { rateLimit: 0, burstLimit: 10 } },
      /apiThrottle\.rateLimit .* \(got 0\)/,
    ],
    [
      'a missing entry file',
      { entries: { webhook: '/nowhere/webhook.ts' } },
      /entries\.webhook must be an existing file \(got "\/nowhere\/webhook\.ts"\)/,
    ],
    [
      'NAT gateways with an existing VPC',
      { existingVpc: { vpcId: 'vpc-0123abcd', subnetIds: ['subnet-0123abcd'] }, natGateways: 1 },
      /natGateways applies only to a new VPC/,
    ],
    [
      'a malformed VPC id',
      { existingVpc: { vpcId: 'vpc_1', subnetIds: ['subnet-0123abcd'] } },
      /existingVpc\.vpcId .* \(got "vpc_1"\)/,
    ],
    [
      'no subnets',
      { existingVpc: { vpcId: 'vpc-0123abcd', subnetIds: [] } },
      /existingVpc\.subnetIds must name at least one subnet/,
    ],
    [
      'a malformed subnet id',
      { existingVpc: { vpcId: 'vpc-0123abcd', subnetIds: ['subnet-0123abcd', 'sn-1'] } },
      /existingVpc\.subnetIds\[1\] .* \(got "sn-1"\)/,
    ],
    [
      'zones that do not fit the subnets',
      {
        existingVpc: {
          vpcId: 'vpc-0123abcd',
          subnetIds: ['subnet-0123abcd', 'subnet-0123abce', 'subnet-0123abcf'],
          availabilityZones: ['eu-west-1a', 'eu-west-1b'],
        },
      },
      /existingVpc\.availabilityZones must list the zones of the 3 subnets .* \(got \["eu-west-1a","eu-west-1b"\]\)/,
    ],
  ])('rejects %s', (_case, props, message) => {
    expect(attempt(props)).toThrow(message);
    try {
      attempt(props)();
    } catch (error) {
      expect(error).toBeInstanceOf(FinalePropsError);
      expect(error).toBeInstanceOf(FinaleError);
      expect((error as FinalePropsError).message).toMatch(/^Finale: /);
    }
  });
});

describe('network', () => {
  it('uses an existing VPC by its ids, creating no network and looking nothing up', () => {
    const synth = synthFinale(
      { existingVpc: { vpcId: 'vpc-0123abcd', subnetIds: ['subnet-0a0a0a0a', 'subnet-0b0b0b0b'] } },
      quick,
    );
    for (const type of ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::NatGateway', 'AWS::EC2::FlowLog']) {
      expect(synth.template.findResources(type), type).toEqual({});
    }
    synth.template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0123abcd' });
    expect(environment(synth)).toMatchObject({
      [LAMBDA_ENV.subnets]: 'subnet-0a0a0a0a,subnet-0b0b0b0b',
      [LAMBDA_ENV.assignPublicIp]: 'DISABLED',
    });
    expect(synth.app.synth().manifest.missing ?? []).toEqual([]);
  });

  it('describes the existing subnets to CDK when their zones are given, and public IPs when asked', () => {
    const synth = synthFinale(
      {
        existingVpc: {
          vpcId: 'vpc-0123abcd',
          subnetIds: ['subnet-0a0a0a0a', 'subnet-0b0b0b0b'],
          availabilityZones: ['eu-west-1a', 'eu-west-1b'],
          assignPublicIp: true,
        },
      },
      quick,
    );
    expect(synth.stack.finale.vpc.publicSubnets.map((subnet) => subnet.subnetId)).toEqual([
      'subnet-0a0a0a0a',
      'subnet-0b0b0b0b',
    ]);
    expect(synth.stack.finale.vpc.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b']);
    expect(environment(synth)[LAMBDA_ENV.assignPublicIp]).toBe('ENABLED');
  });

  it('without NAT gateways, runs the tasks in public subnets with public IPs', () => {
    const synth = synthFinale({ natGateways: 0 }, quick);
    expect(synth.template.findResources('AWS::EC2::NatGateway')).toEqual({});
    expect(
      Object.keys(synth.template.findResources('AWS::EC2::Subnet'))
        .map((id) => synth.aliases.get(id))
        .sort(),
    ).toEqual(['Network/Vpc/publicSubnet1/Subnet', 'Network/Vpc/publicSubnet2/Subnet']);
    expect(environment(synth)).toMatchObject({
      [LAMBDA_ENV.subnets]: '<Network/Vpc/publicSubnet1/Subnet>,<Network/Vpc/publicSubnet2/Subnet>',
      [LAMBDA_ENV.assignPublicIp]: 'ENABLED',
    });
  });
});

describe('props', () => {
  it('names functions and scopes every run-time permission and event pattern by the resource prefix', () => {
    const synth = synthFinale({ resourcePrefix: 'acme-ci' }, quick);
    const names = Object.values(synth.template.findResources('AWS::Lambda::Function'))
      .map((fn) => fn.Properties.FunctionName)
      .sort();
    expect(names).toEqual(['acme-ci-api', 'acme-ci-control', 'acme-ci-events', 'acme-ci-webhook']);
    expect(environment(synth)[LAMBDA_ENV.resourcePrefix]).toBe('acme-ci');
    expect(environment(synth)[LAMBDA_ENV.controlFunctionArn]).toMatch(/:function:acme-ci-control$/);
    const resources = statementsOf(synth, 'StateMachineRole').flatMap((statement) => statement.resources);
    expect(resources).toContain(
      'arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/acme-ci-*:*',
    );
    expect(statementsOf(synth, 'Functions/eventsRole').flatMap((statement) => statement.resources)).toContain(
      'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:acme-ci-*',
    );
    const [rule] = Object.entries(synth.template.findResources('AWS::Events::Rule')).filter(
      ([id]) => synth.aliases.get(id) === 'Events/ExecutionStatusChange',
    );
    expect(synth.show(rule![1].Properties.EventPattern.detail.stateMachineArn[0].prefix)).toMatch(
      /:stateMachine:acme-ci-$/,
    );
  });

  it('applies the removal policy and the retention to every table, bucket, log group and secret', () => {
    const synth = synthFinale(
      { removalPolicy: RemovalPolicy.DESTROY, logRetention: logs.RetentionDays.ONE_WEEK },
      quick,
    );
    const types = [
      'AWS::DynamoDB::Table',
      'AWS::S3::Bucket',
      'AWS::Logs::LogGroup',
      'AWS::SecretsManager::Secret',
    ];
    for (const type of types) {
      for (const [id, resource] of Object.entries(synth.template.findResources(type))) {
        expect(resource.DeletionPolicy, `${type} ${synth.aliases.get(id)}`).toBe('Delete');
      }
    }
    for (const group of Object.values(synth.template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBe(7);
    }
  });

  it('notifies the alarm topic from every alarm, and sets the success-rate threshold', () => {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, 'Ops');
    const topic = new sns.Topic(stack, 'Pager');
    new Finale(stack, 'Finale', {
      agentImage: { imageUri: TEST_AGENT_IMAGE },
      alarmTopic: topic,
      successRateAlarmThreshold: 95,
    });
    const template = Template.fromStack(stack);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBe(10);
    for (const alarm of alarms)
      expect(alarm.Properties.AlarmActions).toEqual([
        { Ref: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic) },
      ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 95,
      ComparisonOperator: 'LessThanThreshold',
    });
  });

  it('turns Container Insights on when asked', () => {
    const synth = synthFinale({ containerInsights: true }, quick);
    synth.template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });
});

describe('embedding', () => {
  it("lives in the user's own stack: pulls their images, and grants their roles the runs API", () => {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, 'Platform');
    const agent = ecr.Repository.fromRepositoryName(stack, 'AgentRepository', 'finale-agent');
    const builders = new ecr.Repository(stack, 'Builders');
    const finale = new Finale(stack, 'CI', {
      agentImage: { imageUri: `${agent.repositoryUri}:1.0`, repository: agent },
      stepImageRepositories: [builders],
    });
    const operators = new iam.Role(stack, 'Operators', { assumedBy: new iam.AccountRootPrincipal() });
    finale.grantInvokeApi(operators);

    const template = Template.fromStack(stack);
    const policyOf = (role: iam.Role) =>
      Object.values(template.findResources('AWS::IAM::Policy')).find((policy) =>
        policy.Properties.Roles.some(
          (ref: { Ref: string }) => ref.Ref === stack.getLogicalId(role.node.defaultChild as iam.CfnRole),
        ),
      )!.Properties.PolicyDocument.Statement;

    const pull = policyOf(finale.executionRole).find((statement: { Action: string[] }) =>
      [statement.Action].flat().includes('ecr:BatchGetImage'),
    );
    expect(pull.Action).toEqual([
      'ecr:BatchCheckLayerAvailability',
      'ecr:GetDownloadUrlForLayer',
      'ecr:BatchGetImage',
    ]);
    expect(stack.resolve(pull.Resource)).toEqual([
      stack.resolve(agent.repositoryArn),
      stack.resolve(builders.repositoryArn),
    ]);
    expect(policyOf(operators)).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: stack.resolve(finale.httpApi.arnForExecuteApi()),
      },
    ]);
    expect(stack.resolve(finale.webhookUrl('github'))).toEqual(
      stack.resolve(`${finale.apiUrl}webhooks/github`),
    );
  });
});

describe('the agent image', () => {
  it('is built from agent/Dockerfile for linux/amd64 by default, from a context of what it copies', () => {
    const synth = synthFinale({ agentImage: undefined }, quick);
    const assembly = synth.app.synth();
    const assets = JSON.parse(readFileSync(join(assembly.directory, 'Finale.assets.json'), 'utf8'));
    const images = Object.values(assets.dockerImages) as {
      source: { directory: string; dockerFile: string; platform: string };
    }[];
    expect(images).toHaveLength(1);
    expect(images[0]!.source).toMatchObject({ dockerFile: 'agent/Dockerfile', platform: 'linux/amd64' });

    const context = join(assembly.directory, images[0]!.source.directory);
    expect(readdirSync(context).sort()).toEqual(
      [...new Set(AGENT_CONTEXT.map((path) => path.split('/')[0]))].sort(),
    );
    // The agent reads its configuration as the Lambdas do, and no Lambda's code rides along.
    expect(existsSync(join(context, 'aws', 'config.ts'))).toBe(true);
    expect(existsSync(join(context, 'lambdas'))).toBe(false);
    // Everything the Dockerfile copies from the context is there.
    const dockerfile = readFileSync(join(ROOT, 'agent', 'Dockerfile'), 'utf8');
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((line) =>
      line[1]!.trim().split(/\s+/).slice(0, -1),
    );
    expect(copied.length).toBeGreaterThan(3);
    for (const source of copied) expect(existsSync(join(context, source)), source).toBe(true);

    // The functions are told its ECR URI, and the execution role may pull it.
    expect(environment(synth)[LAMBDA_ENV.agentImage]).toMatch(
      /^<AWS::AccountId>\.dkr\.ecr\.<AWS::Region>\.<AWS::URLSuffix>\/cdk-hnb659fds-container-assets-<AWS::AccountId>-<AWS::Region>:[0-9a-f]{64}$/,
    );
    expect(statementsOf(synth, 'Steps/ExecutionRole')).toContainEqual({
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      resources: [
        'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/cdk-hnb659fds-container-assets-<AWS::AccountId>-<AWS::Region>',
      ],
    });
  });

  it('needs agentImage when the source has no agent/Dockerfile', () => {
    const stack = new Stack(new App(), 'Test');
    const empty = mkdtempSync(join(tmpdir(), 'finale-no-agent-'));
    expect(
      () =>
        new FinaleStepTasks(stack, 'Steps', {
          vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123abcd', availabilityZones: ['a'] }),
          sourceDirectory: empty,
          stepImageRepositories: [],
          containerInsights: false,
          logRetention: logs.RetentionDays.ONE_DAY,
          artifactsExpiration: Duration.days(1),
          removalPolicy: RemovalPolicy.DESTROY,
        }),
    ).toThrow(/agentImage is not set and .*agent\/Dockerfile does not exist/);
  });
});
