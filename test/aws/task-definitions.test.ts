// Secured variables in a step's task definition: ECS `secrets` by reference on the step container,
// the same again for the agent to mask, nowhere else; the family hash tells steps with other secrets
// apart; the executor asks the core for each step's variables when the run starts. Against moto's ECS
// in moto-task-definitions.test.ts.

import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { awsExecutor } from '../../aws/executor';
import {
  createTaskDefinitions,
  MASK_ENV_PREFIX,
  type TaskDefinitionSettings,
  taskDefinitionFor,
} from '../../aws/task-definitions';
import type { StepSpec } from '../../statemachine/compiler/plan';
import type { RunRecord } from '../../store/records';
import { planOf, stepSpec } from '../core/fixtures';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

const SETTINGS: TaskDefinitionSettings = {
  prefix: 'finale',
  partition: 'aws',
  region: 'eu-west-1',
  account: '123456789012',
  agentImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/finale-agent:1',
  taskRoleArn: 'arn:aws:iam::123456789012:role/task',
  executionRoleArn: 'arn:aws:iam::123456789012:role/execution',
  logGroup: '/finale/steps',
  tables: { runs: 'r', locks: 'l', repositories: 'p', plans: 'n', deliveries: 'd' },
  hostTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:host',
  artifactsBucket: 'finale-artifacts',
  variablesKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0b0b0b0b-0000-4000-8000-000000000001',
};

const PARAMETERS = 'arn:aws:ssm:eu-west-1:123456789012:parameter/finale/variables/acme/app';
const NPM = { name: 'NPM_TOKEN', reference: '/finale/variables/acme/app/repository/NPM_TOKEN' };
const KEY = { name: 'DEPLOY_KEY', reference: '/finale/variables/acme/app/deployment/production/DEPLOY_KEY' };

const container = (input: RegisterTaskDefinitionCommandInput, name: string) =>
  input.containerDefinitions!.find((definition) => definition.name === name)!;

describe('secured variables in the task definition', () => {
  it('go to the step container by ARN, and to the agent under FINALE_MASK_, sorted, nowhere else', () => {
    const input = taskDefinitionFor(stepSpec(0), SETTINGS, [NPM, KEY]);
    expect(container(input, 'step').secrets).toEqual([
      { name: 'DEPLOY_KEY', valueFrom: `${PARAMETERS}/deployment/production/DEPLOY_KEY` },
      { name: 'NPM_TOKEN', valueFrom: `${PARAMETERS}/repository/NPM_TOKEN` },
    ]);
    expect(container(input, 'agent').secrets).toEqual([
      { name: `${MASK_ENV_PREFIX}DEPLOY_KEY`, valueFrom: `${PARAMETERS}/deployment/production/DEPLOY_KEY` },
      { name: `${MASK_ENV_PREFIX}NPM_TOKEN`, valueFrom: `${PARAMETERS}/repository/NPM_TOKEN` },
    ]);
    expect(container(input, 'prepare')).not.toHaveProperty('secrets');
    // The step container has no plain environment at all: its variables come from the env file.
    expect(container(input, 'step')).not.toHaveProperty('environment');
    for (const definition of input.containerDefinitions!) {
      for (const variable of definition.environment ?? []) {
        expect(variable.name).not.toMatch(/NPM_TOKEN|DEPLOY_KEY/);
      }
    }
    // prepare and the agent get the key that seals output variables, and where the parameters are.
    expect(container(input, 'agent').environment).toEqual(
      expect.arrayContaining([
        { name: 'FINALE_VARIABLES_KEY_ARN', value: SETTINGS.variablesKeyArn },
        { name: 'FINALE_RESOURCE_PREFIX', value: 'finale' },
      ]),
    );
  });

  it('is exactly this RegisterTaskDefinition request', () => {
    const environment = [
      { name: 'AWS_REGION', value: 'eu-west-1' },
      { name: 'FINALE_TABLE_RUNS', value: 'r' },
      { name: 'FINALE_TABLE_LOCKS', value: 'l' },
      { name: 'FINALE_TABLE_REPOSITORIES', value: 'p' },
      { name: 'FINALE_TABLE_PLANS', value: 'n' },
      { name: 'FINALE_TABLE_DELIVERIES', value: 'd' },
      { name: 'FINALE_HOST_TOKEN_SECRET_ARN', value: SETTINGS.hostTokenSecretArn },
      { name: 'FINALE_ARTIFACTS_BUCKET', value: 'finale-artifacts' },
      { name: 'FINALE_VARIABLES_KEY_ARN', value: SETTINGS.variablesKeyArn },
      { name: 'FINALE_RESOURCE_PREFIX', value: 'finale' },
    ];
    const mountPoints = [
      { sourceVolume: 'finale', containerPath: '/finale', readOnly: false },
      { sourceVolume: 'workspace', containerPath: '/workspace', readOnly: false },
    ];
    const logConfiguration = {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': '/finale/steps',
        'awslogs-region': 'eu-west-1',
        'awslogs-stream-prefix': 'finale',
        mode: 'blocking',
      },
    };
    const npm = `${PARAMETERS}/repository/NPM_TOKEN`;
    expect(
      taskDefinitionFor(stepSpec(0, { image: { name: 'node:22', runAsUser: 1000 } }), SETTINGS, [NPM]),
    ).toEqual({
      family: expect.stringMatching(/^finale-step-[0-9a-f]{20}$/),
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '1024',
      memory: '4096',
      taskRoleArn: SETTINGS.taskRoleArn,
      executionRoleArn: SETTINGS.executionRoleArn,
      volumes: [{ name: 'finale' }, { name: 'workspace' }],
      containerDefinitions: [
        {
          name: 'prepare',
          image: SETTINGS.agentImage,
          essential: false,
          command: ['prepare'],
          environment,
          mountPoints,
          logConfiguration,
        },
        {
          name: 'agent',
          image: SETTINGS.agentImage,
          essential: true,
          command: ['agent'],
          environment,
          secrets: [{ name: 'FINALE_MASK_NPM_TOKEN', valueFrom: npm }],
          mountPoints,
          stopTimeout: 120,
          logConfiguration,
        },
        {
          name: 'step',
          image: 'node:22',
          essential: false,
          entryPoint: ['/bin/sh'],
          command: ['/finale/start.sh'],
          dependsOn: [{ containerName: 'prepare', condition: 'SUCCESS' }],
          secrets: [{ name: 'NPM_TOKEN', valueFrom: npm }],
          mountPoints,
          stopTimeout: 120,
          user: '1000',
          logConfiguration,
        },
      ],
    });
  });

  it('make the family: other secrets another family, equal ones (in any order) the same', () => {
    const family = (secured: (typeof NPM)[]) => taskDefinitionFor(stepSpec(0), SETTINGS, secured).family;
    const none = family([]);
    expect(family([NPM, KEY])).toBe(family([KEY, NPM]));
    expect(taskDefinitionFor(stepSpec(4, { name: 'Other' }), SETTINGS, [NPM, KEY]).family).toBe(
      family([NPM, KEY]),
    );
    expect(new Set([none, family([NPM]), family([KEY]), family([NPM, KEY])]).size).toBe(4);
    // Same name, another parameter (another repository's variable): another family.
    expect(
      family([{ name: 'NPM_TOKEN', reference: '/finale/variables/acme/web/repository/NPM_TOKEN' }]),
    ).not.toBe(family([NPM]));
    // A step without secured variables has a definition without `secrets`.
    expect(container(taskDefinitionFor(stepSpec(0), SETTINGS), 'step')).not.toHaveProperty('secrets');
  });

  it("the executor asks for each step's variables at start, and the definitions carry only references", async () => {
    const ecs = new ECSClient({ region: 'eu-west-1', credentials });
    const ecsMock = mockClient(ecs);
    ecsMock
      .on(DescribeTaskDefinitionCommand)
      .rejects(Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' }));
    ecsMock.on(RegisterTaskDefinitionCommand).callsFake((input) => ({
      taskDefinition: { taskDefinitionArn: `arn:aws:ecs:eu-west-1:1:task-definition/${input.family}:1` },
    }));
    const sfn = new SFNClient({ region: 'eu-west-1', credentials });
    const sfnMock = mockClient(sfn);
    sfnMock.on(StartExecutionCommand).resolves({});
    const asked: [string, number][] = [];
    const reads: string[] = [];
    const plan = planOf([
      {},
      { environment: { BITBUCKET_DEPLOYMENT_ENVIRONMENT: 'production' } },
      { skipped: true },
      {},
    ]);
    const executor = awsExecutor({
      sfn,
      store: { runs: { setEngine: async () => undefined } } as never,
      environment: {
        controlFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:finale-control',
        cluster: 'c',
        subnets: ['s'],
        securityGroups: ['g'],
        assignPublicIp: 'DISABLED',
      },
      taskDefinitions: createTaskDefinitions(ecs, SETTINGS),
      storedVariables: async (run: RunRecord) => {
        reads.push(run.runId);
        return (spec: StepSpec) => {
          asked.push([run.runId, spec.index]);
          const deploying = spec.environment.BITBUCKET_DEPLOYMENT_ENVIRONMENT === 'production';
          return { plain: { API_URL: 'https://plain.example' }, secured: deploying ? [NPM, KEY] : [NPM] };
        };
      },
      stateMachines: { version: async () => 'arn:aws:states:eu-west-1:1:stateMachine:m:1' },
    });
    await executor.start({ runId: 'run-1', repository: 'acme/app' } as RunRecord, plan);
    expect(asked.sort()).toEqual([
      ['run-1', 0],
      ['run-1', 1],
      ['run-1', 3],
    ]);
    // The repository's variables are read once for the whole run, not once per step.
    expect(reads).toEqual(['run-1']);
    // Steps 0 and 3 share a definition; the deploying step has its own.
    const registered = ecsMock.commandCalls(RegisterTaskDefinitionCommand).map((call) => call.args[0].input);
    expect(registered.map((input) => container(input, 'step').secrets!.map((secret) => secret.name))).toEqual(
      expect.arrayContaining([['NPM_TOKEN'], ['DEPLOY_KEY', 'NPM_TOKEN']]),
    );
    expect(registered).toHaveLength(2);
    const sent = sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!;
    const input = JSON.parse(sent);
    expect(Object.keys(input.env.taskDefinitions)).toEqual(['s0', 's1', 's3']);
    expect(input.env.taskDefinitions.s0).toBe(input.env.taskDefinitions.s3);
    expect(input.env.taskDefinitions.s1).not.toBe(input.env.taskDefinitions.s0);
    // Variables travel neither in the execution input nor (plain ones: prepare writes them) the definitions.
    expect(sent).not.toMatch(/NPM_TOKEN|DEPLOY_KEY|API_URL/);
    expect(JSON.stringify(registered)).not.toMatch(/API_URL|plain\.example/);
  });
});
