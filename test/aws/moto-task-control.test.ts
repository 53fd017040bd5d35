// The core's TaskControl on ECS against moto: a step's task definition (taskDefinitionFor) registered
// with moto's ECS (with a memory reservation per container for moto's RunTask) and run on FARGATE with an awsvpc network configuration, as the compiled
// definition's runTask.sync does; inspectTask sees it running, stopTask stops it with Finale's reason,
// cut to ECS's 255 characters, which moto records as the task's stoppedReason; once stopped,
// inspectTask no longer says running. tell() writes into the agent container's awslogs stream in
// moto's CloudWatch Logs. moto sets no stopCode and gives a task only its first container, so what the
// core makes of an agent's exit code is left to the aws-sdk-client-mock tests.

import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { beforeAll, expect, it } from 'vitest';
import { ecsTaskControl } from '../../aws/task-control';
import { logStreamOf, taskDefinitionFor } from '../../aws/task-definitions';
import { TASK_CONTAINERS } from '../../statemachine/compiler/plan';
import { planOfYaml } from '../statemachine/compiler/support';
import { MOTO_ACCOUNT, MOTO_REGION, motoTaskDefinitionSettings, useMoto } from '../support/moto';

const moto = useMoto();
const LOG_GROUP = '/finale/steps';

const settings = motoTaskDefinitionSettings({ logGroup: LOG_GROUP });

/** One EC2 Query API call (the SDK's EC2 client is not a dependency): the answer's XML. */
async function ec2(action: string, params: Record<string, string>): Promise<string> {
  const response = await fetch(moto.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${MOTO_REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Action: action, Version: '2016-11-15', ...params }).toString(),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`EC2 ${action}: ${text}`);
  return text;
}
const field = (xml: string, name: string) => new RegExp(`<${name}>([^<]+)</${name}>`).exec(xml)![1]!;

let ecs: ECSClient;
let logs: CloudWatchLogsClient;
let cluster: string;
let taskDefinitionArn: string;
let network: { subnets: string[]; securityGroups: string[] };
beforeAll(async () => {
  ecs = new ECSClient(moto.clientConfig);
  logs = new CloudWatchLogsClient(moto.clientConfig);
  const vpc = field(await ec2('CreateVpc', { CidrBlock: '10.0.0.0/16' }), 'vpcId');
  // As in a VPC made for Fargate; moto's RunTask also fails on a task ENI without a DNS name.
  await ec2('ModifyVpcAttribute', { VpcId: vpc, 'EnableDnsHostnames.Value': 'true' });
  const subnet = field(
    await ec2('CreateSubnet', { VpcId: vpc, CidrBlock: '10.0.1.0/24', AvailabilityZone: `${MOTO_REGION}a` }),
    'subnetId',
  );
  const group = field(
    await ec2('CreateSecurityGroup', { VpcId: vpc, GroupName: 'steps', GroupDescription: 'step tasks' }),
    'groupId',
  );
  network = { subnets: [subnet], securityGroups: [group] };
  cluster = (await ecs.send(new CreateClusterCommand({ clusterName: 'finale' }))).cluster!.clusterArn!;
  const plan = planOfYaml(`pipelines:
  default:
    - step:
        name: Build
        image: node:22
        size: 2x
        script:
          - npm ci
`);
  const request = taskDefinitionFor(plan.steps[0]!, settings);
  const registered = await ecs.send(new RegisterTaskDefinitionCommand(request));
  expect(registered.taskDefinition).toMatchObject({
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: '2048',
    memory: '8192',
  });
  // Fargate takes the task's memory alone; moto's RunTask adds up the containers' (a TypeError when
  // one has none), so the task that runs has the same definition with a share each.
  const runnable = await ecs.send(
    new RegisterTaskDefinitionCommand({
      ...request,
      family: `${request.family}-moto`,
      containerDefinitions: request.containerDefinitions!.map((container) => ({
        ...container,
        memoryReservation: 512,
      })),
    }),
  );
  taskDefinitionArn = runnable.taskDefinition!.taskDefinitionArn!;
  await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
});

/** A step's task on FARGATE, as runTask.sync starts it. */
async function runStepTask(): Promise<string> {
  const out = await ecs.send(
    new RunTaskCommand({
      cluster,
      taskDefinition: taskDefinitionArn,
      launchType: 'FARGATE',
      count: 1,
      networkConfiguration: { awsvpcConfiguration: { ...network, assignPublicIp: 'DISABLED' } },
    }),
  );
  expect(out.failures ?? []).toEqual([]);
  return out.tasks![0]!.taskArn!;
}

const describeTask = async (taskArn: string) =>
  (await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }))).tasks![0]!;

it("stops a running FARGATE task with Finale's reason, cut to what ECS keeps", async () => {
  const control = ecsTaskControl({ client: ecs, cluster });
  const taskArn = await runStepTask();
  const ref = { runId: 'run-1', step: 0, taskId: taskArn };
  expect(await describeTask(taskArn)).toMatchObject({ launchType: 'FARGATE', desiredStatus: 'RUNNING' });
  expect(await control.inspectTask(ref)).toEqual({ state: 'running' });

  const reason = `Stopped by alice: ${'x'.repeat(300)}`;
  await control.stopTask(ref, reason);
  const stopped = await describeTask(taskArn);
  expect(stopped).toMatchObject({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });
  expect(stopped.stoppedReason).toBe(reason.slice(0, 255));
  expect(await control.inspectTask(ref)).not.toEqual({ state: 'running' });

  // A second stop of a stopped task is a stop too.
  await expect(control.stopTask(ref, 'again')).resolves.toBeUndefined();
  expect((await describeTask(taskArn)).stoppedReason).toBe('again');
});

it('stops a task named by its id alone, and knows a task ECS has forgotten as gone', async () => {
  const control = ecsTaskControl({ client: ecs, cluster });
  const taskArn = await runStepTask();
  await control.stopTask({ runId: 'run-2', taskId: taskArn.split('/').pop()! }, 'timed out');
  expect(await describeTask(taskArn)).toMatchObject({ lastStatus: 'STOPPED', stoppedReason: 'timed out' });

  const forgotten = `arn:aws:ecs:${MOTO_REGION}:${MOTO_ACCOUNT}:task/finale/0123456789abcdef0123456789abcdef`;
  expect(await control.inspectTask({ runId: 'run-2', step: 0, taskId: forgotten })).toEqual({
    state: 'gone',
  });
  expect(await control.inspectTask({ runId: 'run-2', step: 0 })).toEqual({ state: 'gone' });
});

it("tells the step's log, in the agent container's stream", async () => {
  const taskArn = await runStepTask();
  const stream = logStreamOf(TASK_CONTAINERS.agent, taskArn);
  // awslogs creates it when the container starts.
  await logs.send(new CreateLogStreamCommand({ logGroupName: LOG_GROUP, logStreamName: stream }));
  const control = ecsTaskControl({ client: ecs, cluster, logs: { client: logs, group: LOG_GROUP } });
  await control.tell({ runId: 'run-3', step: 0, taskId: taskArn }, 'stopping: the run was stopped by alice');
  const events = await logs.send(new GetLogEventsCommand({ logGroupName: LOG_GROUP, logStreamName: stream }));
  expect(events.events?.map((event) => event.message)).toEqual([
    'finale: stopping: the run was stopped by alice',
  ]);
  // No task yet: nothing to tell, and nothing sent.
  await expect(control.tell({ runId: 'run-3', step: 0 }, 'nothing')).resolves.toBeUndefined();
});
