// The AWS adapters against aws-sdk-client-mock: the exact requests Finale makes of Step Functions,
// ECS, Secrets Manager and CloudWatch Logs.

import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  CreateStateMachineCommand,
  DescribeStateMachineCommand,
  PublishStateMachineVersionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  TaskTimedOut,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionConsoleUrl, parseArn } from '../../aws/arn';
import { awsExecutor } from '../../aws/executor';
import { cloudWatchLogReader } from '../../aws/logs';
import { sfnOrchestrator } from '../../aws/orchestrator';
import { secretReader } from '../../aws/secrets';
import { createStateMachines, stateMachineName } from '../../aws/state-machines';
import { ecsTaskControl } from '../../aws/task-control';
import {
  createTaskDefinitions,
  fargateGraceOf,
  MAX_STOP_TIMEOUT,
  type TaskDefinitionSettings,
  taskDefinitionFor,
} from '../../aws/task-definitions';
import type { RunRecord } from '../../store/records';
import { stepSpec } from '../core/fixtures';
import { planOfYaml } from '../statemachine/compiler/support';
import { useDynalite } from '../support/dynalite';

const region = 'eu-west-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const client = <T>(Client: new (config: object) => T) => new Client({ region, credentials });

const TABLES = {
  runs: 'runs-t',
  locks: 'locks-t',
  repositories: 'repositories-t',
  plans: 'plans-t',
  deliveries: 'deliveries-t',
};
const SETTINGS: TaskDefinitionSettings = {
  prefix: 'finale',
  partition: 'aws',
  region,
  account: '123456789012',
  agentImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/finale-agent:1',
  taskRoleArn: 'arn:aws:iam::123456789012:role/task',
  executionRoleArn: 'arn:aws:iam::123456789012:role/execution',
  logGroup: '/finale/steps',
  tables: TABLES,
  hostTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:host',
  artifactsBucket: 'finale-artifacts',
  variablesKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0b0b0b0b-0000-4000-8000-000000000001',
};

describe('Orchestrator (task tokens)', () => {
  const sfn = client(SFNClient);
  const mock = mockClient(sfn);
  beforeEach(() => mock.reset());

  it('sends success with the output as JSON, and failure with bounded error and cause', async () => {
    mock.on(SendTaskSuccessCommand).resolves({});
    mock.on(SendTaskFailureCommand).resolves({});
    const orchestrator = sfnOrchestrator(sfn);
    expect(await orchestrator.sendTaskSuccess('tok-1', { lock: 'deployment:prod', fence: 3 })).toBe('ok');
    expect(
      await orchestrator.sendTaskFailure('tok-2', `Pipeline.Stopped${'x'.repeat(300)}`, 'c'.repeat(40_000)),
    ).toBe('ok');
    expect(mock.commandCalls(SendTaskSuccessCommand)[0]!.args[0].input).toEqual({
      taskToken: 'tok-1',
      output: '{"lock":"deployment:prod","fence":3}',
    });
    const failure = mock.commandCalls(SendTaskFailureCommand)[0]!.args[0].input;
    expect(failure.taskToken).toBe('tok-2');
    expect(failure.error).toHaveLength(256);
    expect(failure.cause).toHaveLength(32_768);
  });

  it("answers 'gone' for a token whose state has ended, and throws anything else", async () => {
    mock.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    const orchestrator = sfnOrchestrator(sfn);
    expect(await orchestrator.sendTaskSuccess('old', {})).toBe('gone');
    mock
      .on(SendTaskFailureCommand)
      .rejects(Object.assign(new Error('boom'), { name: 'ThrottlingException' }));
    await expect(orchestrator.sendTaskFailure('t', 'E', 'c')).rejects.toThrow('boom');
  });
});

describe('TaskControl (ECS StopTask)', () => {
  const ecs = client(ECSClient);
  const mock = mockClient(ecs);
  beforeEach(() => mock.reset());

  it('stops the task in the cluster with a reason of at most 255 characters', async () => {
    mock.on(StopTaskCommand).resolves({});
    const tasks = ecsTaskControl({
      client: ecs,
      cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/finale',
    });
    const reason = `Stopped by arn:aws:iam::123456789012:user/alice: ${'r'.repeat(400)}`;
    await tasks.stopTask(
      { runId: 'r1', taskId: 'arn:aws:ecs:eu-west-1:123456789012:task/finale/abc' },
      reason,
    );
    expect(mock.commandCalls(StopTaskCommand)[0]!.args[0].input).toEqual({
      cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/finale',
      task: 'arn:aws:ecs:eu-west-1:123456789012:task/finale/abc',
      reason: reason.slice(0, 255),
    });
  });

  it('treats a task ECS no longer knows as stopped', async () => {
    mock
      .on(StopTaskCommand)
      .rejects(
        Object.assign(new Error('The referenced task was not found.'), { name: 'InvalidParameterException' }),
      );
    const tasks = ecsTaskControl({ client: ecs, cluster: 'c' });
    await expect(tasks.stopTask({ runId: 'r1', taskId: 'gone-task' }, 'x')).resolves.toBeUndefined();
  });

  it("tells a running step in its agent's awslogs stream, the step's log", async () => {
    const logs = client(CloudWatchLogsClient);
    const logsMock = mockClient(logs);
    logsMock.on(PutLogEventsCommand).resolves({});
    const tasks = ecsTaskControl({
      client: ecs,
      cluster: 'c',
      logs: { client: logs, group: '/finale/steps' },
    });
    const before = Date.now();
    await tasks.tell(
      { runId: 'r', step: 1, taskId: 'arn:aws:ecs:eu-west-1:1:task/finale/0123abcd' },
      'lock taken',
    );
    const input = logsMock.commandCalls(PutLogEventsCommand)[0]!.args[0].input;
    expect(input).toEqual({
      logGroupName: '/finale/steps',
      logStreamName: 'finale/agent/0123abcd',
      logEvents: [{ timestamp: expect.any(Number), message: 'finale: lock taken' }],
    });
    expect(input.logEvents![0]!.timestamp).toBeGreaterThanOrEqual(before);
    // No task recorded yet: nothing to write to.
    await tasks.tell({ runId: 'r', step: 1 }, 'lock taken');
    expect(logsMock.commandCalls(PutLogEventsCommand)).toHaveLength(1);
  });

  it("inspects a final step's task with DescribeTasks: running, ended with the agent's exit code, or gone", async () => {
    const cluster = 'arn:aws:ecs:eu-west-1:123456789012:cluster/finale';
    const task = 'arn:aws:ecs:eu-west-1:123456789012:task/finale/abc';
    const tasks = ecsTaskControl({ client: ecs, cluster });
    const stopped = {
      taskArn: task,
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited' as const,
      containers: [
        { name: 'step', exitCode: 3 },
        { name: 'agent', exitCode: 3 },
      ],
    };
    mock
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [{ taskArn: task, lastStatus: 'DEPROVISIONING' }] })
      .resolvesOnce({ tasks: [stopped] })
      // ECS forgets stopped tasks after about an hour; a task never indexed is unknown too.
      .resolvesOnce({ tasks: [], failures: [{ arn: task, reason: 'MISSING' }] });
    expect(await tasks.inspectTask({ runId: 'r', step: 2, taskId: task })).toEqual({ state: 'running' });
    expect(mock.commandCalls(DescribeTasksCommand)[0]!.args[0].input).toEqual({ cluster, tasks: [task] });
    expect(await tasks.inspectTask({ runId: 'r', step: 2, taskId: task })).toEqual({
      state: 'ended',
      task: { exitCode: 3, stopCode: 'EssentialContainerExited' },
    });
    expect(await tasks.inspectTask({ runId: 'r', step: 2, taskId: task })).toEqual({ state: 'gone' });
    expect(await tasks.inspectTask({ runId: 'r', step: 2 })).toEqual({ state: 'gone' });
    expect(mock.commandCalls(DescribeTasksCommand)).toHaveLength(3);
  });
});

describe('task definitions', () => {
  it('has the three containers, the agent alone essential, blocking awslogs and stopTimeout ≤ 120', () => {
    const input = taskDefinitionFor(
      stepSpec(0, { image: { name: 'hashicorp/terraform:1.9', runAsUser: 1000 } }),
      SETTINGS,
    );
    // No shared PID namespace: the supervisor is PID 1 of the step container, which contains the step.
    expect(input).not.toHaveProperty('pidMode');
    expect(input).toMatchObject({
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: '1024',
      memory: '4096',
      taskRoleArn: SETTINGS.taskRoleArn,
      executionRoleArn: SETTINGS.executionRoleArn,
      volumes: [{ name: 'finale' }, { name: 'workspace' }],
    });
    const containers = input.containerDefinitions!;
    expect(containers.map((c) => [c.name, c.image, c.essential])).toEqual([
      ['prepare', SETTINGS.agentImage, false],
      ['agent', SETTINGS.agentImage, true],
      ['step', 'hashicorp/terraform:1.9', false],
    ]);
    const step = containers[2]!;
    expect(step).toMatchObject({
      entryPoint: ['/bin/sh'],
      command: ['/finale/start.sh'],
      dependsOn: [{ containerName: 'prepare', condition: 'SUCCESS' }],
      user: '1000',
    });
    for (const container of containers) {
      expect(container.logConfiguration).toEqual({
        logDriver: 'awslogs',
        options: {
          'awslogs-group': '/finale/steps',
          'awslogs-region': region,
          'awslogs-stream-prefix': 'finale',
          mode: 'blocking',
        },
      });
      expect(container.stopTimeout ?? 0).toBeLessThanOrEqual(MAX_STOP_TIMEOUT);
      expect(container.mountPoints).toHaveLength(2);
    }
    expect(containers[1]!.environment).toContainEqual({ name: 'FINALE_TABLE_PLANS', value: 'plans-t' });
    expect(containers[1]!.environment).toContainEqual({
      name: 'FINALE_ARTIFACTS_BUCKET',
      value: 'finale-artifacts',
    });
  });

  it('names the family by content: equal shapes share it, another image does not', () => {
    const a = taskDefinitionFor(stepSpec(0), SETTINGS).family;
    expect(a).toMatch(/^finale-step-[0-9a-f]{20}$/);
    expect(taskDefinitionFor(stepSpec(3, { name: 'Other', script: ['make'] }), SETTINGS).family).toBe(a);
    expect(taskDefinitionFor(stepSpec(0, { image: { name: 'node:22' } }), SETTINGS).family).not.toBe(a);
    expect(taskDefinitionFor(stepSpec(0, { cpu: 2048, memory: 8192 }), SETTINGS).family).not.toBe(a);
  });

  it('caps the supervisor grace below the Fargate stop timeout', () => {
    expect(fargateGraceOf(stepSpec(0, { stop: { graceful: true, signal: 'INT', graceSeconds: 600 } }))).toBe(
      110,
    );
    expect(fargateGraceOf(stepSpec(0, { stop: { graceful: true, signal: 'TERM', graceSeconds: 45 } }))).toBe(
      45,
    );
    expect(fargateGraceOf(stepSpec(0, { stop: { graceful: false, signal: 'TERM', graceSeconds: 45 } }))).toBe(
      0,
    );
  });

  it('registers each distinct family once, and reuses one ECS already has', async () => {
    const ecs = client(ECSClient);
    const mock = mockClient(ecs);
    const known = taskDefinitionFor(stepSpec(0, { image: { name: 'node:22' } }), SETTINGS).family!;
    mock
      .on(DescribeTaskDefinitionCommand)
      .rejects(Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' }));
    mock.on(DescribeTaskDefinitionCommand, { taskDefinition: known }).resolves({
      taskDefinition: {
        taskDefinitionArn: `arn:aws:ecs:eu-west-1:1:task-definition/${known}:4`,
        status: 'ACTIVE',
      },
    });
    mock.on(RegisterTaskDefinitionCommand).callsFake((input) => ({
      taskDefinition: { taskDefinitionArn: `arn:aws:ecs:eu-west-1:1:task-definition/${input.family}:1` },
    }));
    const definitions = createTaskDefinitions(ecs, SETTINGS);
    const steps = [
      stepSpec(0),
      stepSpec(1, { image: { name: 'node:22' } }),
      stepSpec(2),
      stepSpec(3, { skipped: true, image: { name: 'never:1' } }),
    ];
    const none = async () => [];
    const first = await definitions.forPlan(steps, none);
    const second = await definitions.forPlan(steps, none);
    expect(Object.keys(first)).toEqual(['s0', 's1', 's2']);
    expect(first.s1).toBe(`arn:aws:ecs:eu-west-1:1:task-definition/${known}:4`);
    expect(first.s0).toBe(first.s2);
    expect(second).toEqual(first);
    const registered = mock.commandCalls(RegisterTaskDefinitionCommand).map((call) => call.args[0].input);
    expect(registered).toEqual([taskDefinitionFor(stepSpec(0), SETTINGS)]);
  });
});

describe('state machines and the executor', () => {
  const db = useDynalite();
  const sfn = client(SFNClient);
  const mock = mockClient(sfn);
  beforeEach(() => mock.reset());

  const sm = {
    prefix: 'finale',
    region,
    account: '123456789012',
    roleArn: 'arn:aws:iam::123456789012:role/sfn',
  };
  const plan = planOfYaml('pipelines:\n  default:\n    - step:\n        script:\n          - make test\n');
  const name = stateMachineName('finale', 'team/app', plan.pipeline);
  const arn = `arn:aws:states:${region}:123456789012:stateMachine:${name}`;

  it('names a machine readably within 80 characters', () => {
    expect(name).toMatch(/^finale-team-app-default-[0-9a-f]{12}$/);
    const long = stateMachineName('finale', `w/${'r'.repeat(120)}`, 'pull-requests:feature/**');
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('creates the machine with a published version, then reuses the version for an equal definition', async () => {
    mock
      .on(DescribeStateMachineCommand)
      .rejects(new StateMachineDoesNotExist({ message: 'no', $metadata: {} }));
    mock.on(CreateStateMachineCommand).resolves({ stateMachineArn: arn, stateMachineVersionArn: `${arn}:1` });
    const machines = createStateMachines(sfn, sm);
    expect(await machines.version('team/app', plan.pipeline, plan.definition)).toBe(`${arn}:1`);
    expect(await machines.version('team/app', plan.pipeline, plan.definition)).toBe(`${arn}:1`);
    const created = mock.commandCalls(CreateStateMachineCommand);
    expect(created).toHaveLength(1);
    expect(created[0]!.args[0].input).toEqual({
      name,
      definition: JSON.stringify(plan.definition),
      roleArn: sm.roleArn,
      type: 'STANDARD',
      publish: true,
      versionDescription: expect.stringMatching(/^finale definition [0-9a-f]{16}$/),
    });
  });

  it('publishes the current revision when it already has this definition (a new Lambda container)', async () => {
    mock
      .on(DescribeStateMachineCommand)
      .resolves({ definition: JSON.stringify(plan.definition), revisionId: 'rev-7' });
    mock.on(PublishStateMachineVersionCommand).resolves({ stateMachineVersionArn: `${arn}:7` });
    expect(await createStateMachines(sfn, sm).version('team/app', plan.pipeline, plan.definition)).toBe(
      `${arn}:7`,
    );
    expect(mock.commandCalls(PublishStateMachineVersionCommand)[0]!.args[0].input).toMatchObject({
      stateMachineArn: arn,
      revisionId: 'rev-7',
    });
    expect(mock.commandCalls(UpdateStateMachineCommand)).toHaveLength(0);
  });

  it('updates and publishes when the definition changed', async () => {
    mock.on(DescribeStateMachineCommand).resolves({ definition: '{"StartAt":"Old"}', revisionId: 'rev-1' });
    mock.on(UpdateStateMachineCommand).resolves({ stateMachineVersionArn: `${arn}:2` });
    expect(await createStateMachines(sfn, sm).version('team/app', plan.pipeline, plan.definition)).toBe(
      `${arn}:2`,
    );
    expect(mock.commandCalls(UpdateStateMachineCommand)[0]!.args[0].input).toMatchObject({
      stateMachineArn: arn,
      definition: JSON.stringify(plan.definition),
      roleArn: sm.roleArn,
      publish: true,
    });
  });

  it('starts the execution named after the run, with the execution input, and records it', async () => {
    const run = {
      runId: 'a1b2c3d4-0000-4000-8000-000000000001',
      repository: 'team/app',
      version: 1,
    } as RunRecord;
    await db.store.runs.create({
      ...run,
      buildNumber: 1,
      pipeline: plan.pipeline,
      planHash: plan.hash,
      trigger: { kind: 'branch', ref: 'main', commit: 'abc' },
      status: 'PENDING',
      phase: 'main',
      startedBy: 'alice',
      createdAt: 1,
      variables: {},
      outputs: {},
      steps: {},
      locks: {},
    });
    const executionArn = `arn:aws:states:${region}:123456789012:execution:${name}:${run.runId}`;
    mock.on(StartExecutionCommand).resolves({ executionArn, startDate: new Date() });
    const environment = {
      controlFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:finale-control',
      cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/finale',
      subnets: ['subnet-a', 'subnet-b'],
      securityGroups: ['sg-1'],
      assignPublicIp: 'DISABLED' as const,
    };
    const executor = awsExecutor({
      sfn,
      store: db.store,
      environment,
      taskDefinitions: {
        forPlan: async () => ({ s0: 'arn:aws:ecs:eu-west-1:1:task-definition/finale-step-x:1' }),
      },
      storedVariables: async () => () => ({ plain: {}, secured: [] }),
      stateMachines: { version: async () => `${arn}:3` },
    });
    await executor.start({ ...run, pipeline: plan.pipeline } as RunRecord, plan);
    const started = mock.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(started.stateMachineArn).toBe(`${arn}:3`);
    expect(started.name).toBe(run.runId);
    expect(JSON.parse(started.input!)).toEqual({
      runId: run.runId,
      planHash: plan.hash,
      recover: false,
      env: {
        control: environment.controlFunctionArn,
        cluster: environment.cluster,
        subnets: ['subnet-a', 'subnet-b'],
        securityGroups: ['sg-1'],
        assignPublicIp: 'DISABLED',
        taskDefinitions: { s0: 'arn:aws:ecs:eu-west-1:1:task-definition/finale-step-x:1' },
      },
    });
    expect((await db.store.runs.get(run.runId))!.engine?.execution).toBe(executionArn);
  });
});

describe('secrets, ARNs and logs', () => {
  it('reads a secret once per cache period', async () => {
    const sm = client(SecretsManagerClient);
    const mock = mockClient(sm);
    mock.on(GetSecretValueCommand, { SecretId: 'arn:s' }).resolves({ SecretString: 'hush' });
    let now = 0;
    const secrets = secretReader(sm, { ttlMs: 1000, now: () => now });
    expect(await secrets.get('arn:s')).toBe('hush');
    expect(await secrets.get('arn:s')).toBe('hush');
    now = 2000;
    expect(await secrets.get('arn:s')).toBe('hush');
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('links an execution in its region console', () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:finale-x:run-1';
    expect(parseArn(arn)).toMatchObject({ region: 'eu-west-1', account: '123456789012' });
    expect(executionConsoleUrl(arn)).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${arn}`,
    );
  });

  it("reads a step log from its task's prepare and agent streams, from an offset, and says when it is complete", async () => {
    const logs = client(CloudWatchLogsClient);
    const mock = mockClient(logs);
    const task = 'arn:aws:ecs:eu-west-1:1:task/finale/0123abcd';
    mock
      .on(GetLogEventsCommand, { logStreamName: 'finale/prepare/0123abcd' })
      .resolves({ events: [{ message: '+ git clone' }], nextForwardToken: 'f/1' });
    mock
      .on(GetLogEventsCommand, { logStreamName: 'finale/prepare/0123abcd', nextToken: 'f/1' })
      .resolves({ events: [], nextForwardToken: 'f/1' });
    mock
      .on(GetLogEventsCommand, { logStreamName: 'finale/agent/0123abcd' })
      .resolves({ events: [{ message: '+ make test' }, { message: 'ok\n' }], nextForwardToken: 's/1' });
    mock
      .on(GetLogEventsCommand, { logStreamName: 'finale/agent/0123abcd', nextToken: 's/1' })
      .resolves({ events: [], nextForwardToken: 's/1' });
    // The step container's own stream never holds the script's output: it is not read.
    mock
      .on(GetLogEventsCommand, { logStreamName: 'finale/step/0123abcd' })
      .rejects(new Error('the step stream must not be read'));
    const reader = cloudWatchLogReader(logs, '/finale/steps');
    const run = (status: string) =>
      ({
        steps: { '0': { index: 0, name: 'Test', kind: 'step', status, attempts: 1, taskId: task } },
      }) as never;
    expect(await reader.read(run('RUNNING'), 0, 0)).toEqual({
      text: '+ git clone\n+ make test\nok\n',
      next: 3,
      complete: false,
      more: false,
    });
    // An ended step whose streams were read to their ends is complete with that read.
    expect(await reader.read(run('SUCCESSFUL'), 0, 1)).toEqual({
      text: '+ make test\nok\n',
      next: 3,
      complete: true,
      more: false,
    });
    expect(await reader.read(run('SUCCESSFUL'), 0, 3)).toEqual({
      text: '',
      next: 3,
      complete: true,
      more: false,
    });
    expect(mock.commandCalls(GetLogEventsCommand)[0]!.args[0].input).toEqual({
      logGroupName: '/finale/steps',
      logStreamName: 'finale/prepare/0123abcd',
      startFromHead: true,
    });
  });
});
