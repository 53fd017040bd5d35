// Every IAM statement Finale grants, exactly: the state machine role, each function and the step
// task's two roles. A new grant, a wider resource or a lost condition fails here.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../infra/permissions';
import { ROOT, type Statement, type Synthesized, statementsOf, synthFinale } from './synth';

let synth: Synthesized;
beforeAll(() => {
  synth = synthFinale({}, { bundle: false });
});

const ARN = 'arn:<AWS::Partition>';
const HERE = '<AWS::Region>:<AWS::AccountId>';
const STATE_MACHINES = `${ARN}:states:${HERE}:stateMachine:finale-*`;
const CLUSTER_TASKS = `${ARN}:ecs:${HERE}:task/<Steps/Cluster>/*`;
const STORE = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:UpdateItem',
];

const table = (name: string, actions: string[] = STORE): Statement => ({
  actions,
  resources:
    name === 'runs' && actions.includes('dynamodb:Query')
      ? ['<Tables/runs.Arn>', '<Tables/runs.Arn>/index/*']
      : [`<Tables/${name}.Arn>`],
});
const ownLogs = (fn: string): Statement => ({
  actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  resources: [`<Functions/${fn}Logs.Arn>`],
});
const secrets = (...names: string[]): Statement => ({
  actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
  resources: names.map((name) => `<${name}>`),
});
const stopTask: Statement = { actions: ['ecs:DescribeTasks', 'ecs:StopTask'], resources: [CLUSTER_TASKS] };
const taskResponse: Statement = {
  actions: ['states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess'],
  resources: [STATE_MACHINES],
};
const startRuns: Statement[] = [
  { actions: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'], resources: ['*'] },
  {
    actions: [
      'states:CreateStateMachine',
      'states:DescribeStateMachine',
      'states:PublishStateMachineVersion',
      'states:StartExecution',
      'states:UpdateStateMachine',
    ],
    resources: [STATE_MACHINES],
  },
  {
    actions: ['iam:PassRole'],
    resources: ['<StateMachineRole.Arn>'],
    conditions: { StringEquals: { 'iam:PassedToService': 'states.amazonaws.com' } },
  },
  {
    actions: ['iam:PassRole'],
    resources: ['<Steps/ExecutionRole.Arn>', '<Steps/TaskRole.Arn>'],
    conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
  },
];

const VARIABLES = `${ARN}:ssm:${HERE}:parameter/finale/variables/*`;
/** KMS for SSM only, and only for the parameters of Finale's variables. */
const viaSsm = {
  StringEquals: { 'kms:ViaService': 'ssm.<AWS::Region>.amazonaws.com' },
  StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': VARIABLES },
};
const writeVariables: Statement[] = [
  { actions: ['ssm:DeleteParameter', 'ssm:PutParameter'], resources: [VARIABLES] },
  { actions: ['kms:Encrypt'], resources: ['<VariablesKey.Arn>'], conditions: viaSsm },
];

const sorted = (statements: Statement[]) =>
  [...statements].sort((a, b) => `${a.actions}${a.resources}`.localeCompare(`${b.actions}${b.resources}`));

describe('the state machine role', () => {
  it('may run, watch and stop step tasks in the cluster, pass their roles and invoke the control function', () => {
    expect(statementsOf(synth, 'StateMachineRole')).toEqual(
      sorted([
        {
          actions: ['ecs:RunTask'],
          resources: [`${ARN}:ecs:${HERE}:task-definition/finale-*:*`],
          conditions: { ArnEquals: { 'ecs:cluster': '<Steps/Cluster.Arn>' } },
        },
        { actions: ['ecs:DescribeTasks', 'ecs:StopTask'], resources: [CLUSTER_TASKS] },
        {
          actions: ['events:DescribeRule', 'events:PutRule', 'events:PutTargets'],
          resources: [`${ARN}:events:${HERE}:rule/StepFunctionsGetEventsForECSTaskRule`],
        },
        {
          actions: ['iam:PassRole'],
          resources: ['<Steps/ExecutionRole.Arn>', '<Steps/TaskRole.Arn>'],
          conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        },
        { actions: ['lambda:InvokeFunction'], resources: ['<Functions/control.Arn>'] },
      ]),
    );
  });

  it("is assumable only by Step Functions for this account's Finale state machines", () => {
    const role = Object.entries(synth.template.findResources('AWS::IAM::Role')).find(
      ([id]) => synth.aliases.get(id) === 'StateMachineRole',
    )![1];
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'states.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': expect.anything() },
        },
      },
    ]);
    expect(
      synth.show(role.Properties.AssumeRolePolicyDocument.Statement[0].Condition.ArnLike['aws:SourceArn']),
    ).toBe(STATE_MACHINES);
  });
});

describe('the functions', () => {
  it('webhook: its tables, both secrets, and starting runs', () => {
    expect(statementsOf(synth, 'Functions/webhookRole')).toEqual(
      sorted([
        table('runs'),
        table('repositories'),
        table('plans', ['dynamodb:GetItem', 'dynamodb:PutItem']),
        table('deliveries', ['dynamodb:DeleteItem', 'dynamodb:PutItem']),
        secrets('HostToken', 'WebhookSecret'),
        ...startRuns,
        ownLogs('webhook'),
      ]),
    );
  });

  it('api: the core tables, stop, approve, custom runs, the host token, the step logs, writing secured variables', () => {
    expect(statementsOf(synth, 'Functions/apiRole')).toEqual(
      sorted([
        table('runs'),
        table('locks'),
        table('repositories'),
        table('plans', ['dynamodb:GetItem', 'dynamodb:PutItem']),
        stopTask,
        taskResponse,
        ...startRuns,
        secrets('HostToken'),
        {
          actions: ['logs:DescribeLogStreams', 'logs:FilterLogEvents', 'logs:GetLogEvents'],
          resources: ['<Steps/StepLogs.Arn>'],
        },
        // A forced unlock is told to the step that held the lock, in its log.
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['<Steps/StepLogs.Arn>'] },
        // PUT and DELETE /variables: parameters are written, never read.
        ...writeVariables,
        ownLogs('api'),
      ]),
    );
  });

  it('control: the core tables, task tokens and StopTask', () => {
    expect(statementsOf(synth, 'Functions/controlRole')).toEqual(
      sorted([
        table('runs'),
        table('locks'),
        table('repositories'),
        table('plans', ['dynamodb:GetItem']),
        taskResponse,
        stopTask,
        ownLogs('control'),
      ]),
    );
  });

  it('events: the core tables, task tokens, StopTask, recovery executions, the host token, dead letters', () => {
    expect(statementsOf(synth, 'Functions/eventsRole')).toEqual(
      sorted([
        table('runs'),
        table('locks'),
        table('repositories'),
        table('plans', ['dynamodb:GetItem']),
        taskResponse,
        stopTask,
        { actions: ['states:StartExecution'], resources: [STATE_MACHINES] },
        { actions: ['states:DescribeExecution'], resources: [`${ARN}:states:${HERE}:execution:finale-*`] },
        secrets('HostToken'),
        {
          actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
          resources: ['<Events/DeadLetters.Arn>'],
        },
        ownLogs('events'),
      ]),
    );
  });

  it('have roles with no managed policies, assumable by Lambda only', () => {
    for (const name of ['webhook', 'api', 'control', 'events']) {
      const role = Object.entries(synth.template.findResources('AWS::IAM::Role')).find(
        ([id]) => synth.aliases.get(id) === `Functions/${name}Role`,
      )![1];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
    }
  });
});

describe('the step task', () => {
  it("task role: its run and plan, the variables list, the artifacts bucket, the host token (prepare's clone), output sealing", () => {
    expect(statementsOf(synth, 'Steps/TaskRole')).toEqual(
      sorted([
        table('runs', ['dynamodb:GetItem', 'dynamodb:UpdateItem']),
        table('plans', ['dynamodb:GetItem']),
        // prepare lists the repository's variables for the plain ones.
        table('repositories', ['dynamodb:Query']),
        // Secured output variables, under their own encryption context: not the parameters' (SSM's).
        {
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['<VariablesKey.Arn>'],
          conditions: { StringEquals: { 'kms:EncryptionContext:finale': 'output-variable' } },
        },
        { actions: ['s3:GetObject', 's3:PutObject'], resources: ['<Steps/Artifacts.Arn>/*'] },
        { actions: ['s3:ListBucket'], resources: ['<Steps/Artifacts.Arn>'] },
        secrets('HostToken'),
      ]),
    );
  });

  it("execution role: an ECR token, the step log streams, and the secured variables' parameters", () => {
    expect(statementsOf(synth, 'Steps/ExecutionRole')).toEqual(
      sorted([
        { actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['<Steps/StepLogs.Arn>'] },
        // ECS reads each step's secured variables into its task (the definition's `secrets`).
        { actions: ['ssm:GetParameters'], resources: [VARIABLES] },
        { actions: ['kms:Decrypt'], resources: ['<VariablesKey.Arn>'], conditions: viaSsm },
      ]),
    );
  });

  it('the variables key: rotated yearly, and used by no one but the API, the execution role and the task role', () => {
    const [key] = Object.entries(synth.template.findResources('AWS::KMS::Key')).filter(
      ([id]) => synth.aliases.get(id) === 'VariablesKey',
    );
    expect(key![1].Properties.EnableKeyRotation).toBe(true);
    const users = new Map<string, string[]>();
    const reading = new Map<string, string[]>();
    for (const policy of Object.values(synth.template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [statement.Action].flat();
        const resources = [statement.Resource].flat().map(synth.show);
        const roles = (policy.Properties.Roles as { Ref: string }[]).map(
          (role) => synth.aliases.get(role.Ref)!,
        );
        if (resources.includes('<VariablesKey.Arn>'))
          for (const role of roles) users.set(role, [...(users.get(role) ?? []), ...actions].sort());
        if (actions.some((action) => action.startsWith('ssm:')))
          for (const role of roles) reading.set(role, [...(reading.get(role) ?? []), ...actions].sort());
      }
    }
    expect(Object.fromEntries(users)).toEqual({
      'Functions/apiRole': ['kms:Encrypt'],
      'Steps/ExecutionRole': ['kms:Decrypt'],
      'Steps/TaskRole': ['kms:Decrypt', 'kms:GenerateDataKey'],
    });
    // No one reads a parameter but ECS (the execution role): no ssm:GetParameter*, anywhere else.
    expect(Object.fromEntries(reading)).toEqual({
      'Functions/apiRole': ['ssm:DeleteParameter', 'ssm:PutParameter'],
      'Steps/ExecutionRole': ['ssm:GetParameters'],
    });
  });
});

describe('everywhere', () => {
  it('grants no wildcard action, and "*" resources only to the actions that have no resource-level permissions', () => {
    const policies = Object.values(synth.template.findResources('AWS::IAM::Policy'));
    expect(policies.length).toBeGreaterThan(0);
    for (const policy of policies) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [statement.Action].flat();
        for (const action of actions) expect(action).not.toContain('*');
        if ([statement.Resource].flat().includes('*')) {
          for (const action of actions) {
            expect([
              'ecr:GetAuthorizationToken',
              'ecs:RegisterTaskDefinition',
              'ecs:DescribeTaskDefinition',
            ]).toContain(action);
          }
        }
      }
    }
  });

  it('covers exactly the DynamoDB requests store/ sends', () => {
    const sent = new Set<string>();
    for (const file of readdirSync(join(ROOT, 'store')).filter((name) => name.endsWith('.ts'))) {
      for (const match of readFileSync(join(ROOT, 'store', file), 'utf8').matchAll(/new (\w+)Command\(/g)) {
        sent.add(`dynamodb:${match[1]!.replace(/^(Get|Put|Update|Delete)$/, '$1Item')}`);
      }
    }
    // Only webhook deliveries are ever deleted (forgotten when their handling failed).
    expect([...sent].sort()).toEqual([...new Set([...ACTIONS.storeReadWrite, ...ACTIONS.deliveries])].sort());
  });
});
