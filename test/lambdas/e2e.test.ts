// End to end: the compiled definition runs on the embedded engine (aws-local-stepfunctions, real
// supervisor processes), while the AWS handlers act on it — the API Lambda's stop route, whose core
// stops tasks through the ECS TaskControl (its client mocked so that StopTask signals the local
// step), and the events Lambda. It proves stop → catch-all → final step with the same handler code,
// and that nothing ever calls StopExecution.

import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient, StopTaskCommand } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { controlRequestOf } from '../../aws/ecs-task';
import { cloudWatchLogReader } from '../../aws/logs';
import { createMetrics } from '../../aws/metrics';
import { ecsTaskControl } from '../../aws/task-control';
import { createCore, createPlanSource } from '../../core/index';
import { createRun } from '../../core/runs';
import { callerOf, createApiHandler } from '../../lambdas/api/handler';
import { createEventsHandler, type FinaleEvent } from '../../lambdas/events/handler';
import { localExecutionInput, startExecution } from '../../local/engine';
import { finalePaths } from '../../local/paths';
import { LocalTaskRunner } from '../../local/task-runner';
import { TaskTokens } from '../../local/tokens';
import { localVault } from '../../local/vault';
import { createHost } from '../../repository-hosts/index';
import { TASK_ENV } from '../../statemachine/compiler/plan';
import { type FakeHttp, startFakeHttp } from '../repository-hosts/fake-http';
import { planOfYaml } from '../statemachine/compiler/support';
import { useDynalite } from '../support/dynalite';
import { credentials } from './harness';

const REGION = 'eu-west-1';
const CLUSTER = 'arn:aws:ecs:eu-west-1:123456789012:cluster/finale';
const ALICE = 'arn:aws:iam::123456789012:user/alice';
const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:finale-team-app-default-0123456789ab';

const db = useDynalite();
let server: FakeHttp;
let root: string;
beforeAll(async () => {
  server = await startFakeHttp();
  root = await mkdtemp(join(tmpdir(), 'finale-e2e-'));
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});
afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

const PIPELINE = `pipelines:
  default:
    - step:
        name: Deploy
        script:
          - trap 'echo "deploy got TERM, releasing the state lock"; exit 143' TERM
          - echo "deploy running"
          - sleep 60 & wait $!
        after-script:
          - echo "after-script saw exit $BITBUCKET_EXIT_CODE"
    - step:
        name: Smoke test
        script:
          - echo "never runs"
    - final:
        name: Cleanup
        script:
          - echo "final step ran"
`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('a stop through the API Lambda stops the ECS task, the catch-all runs the final step, the events Lambda reports it', async () => {
  const plan = planOfYaml(PIPELINE);
  const paths = finalePaths(root);
  const runner = new LocalTaskRunner({
    paths,
    repository: { workspace: 'team', slug: 'app', uuid: '{app}' },
  });
  const ecs = new ECSClient({ region: REGION, credentials });
  const ecsMock = mockClient(ecs);
  // ECS StopTask sends SIGTERM to the task's containers: here, the local step's supervisor.
  ecsMock.on(StopTaskCommand).callsFake(async (input) => {
    // As the agent does on SIGTERM, the runner reads the mode from the run's stop record.
    await runner.stopTask({ runId: run.runId, taskId: input.task! }, input.reason ?? '');
    return {};
  });
  const sfn = new SFNClient({ region: REGION, credentials });
  const sfnMock = mockClient(sfn);
  const tokens = new TaskTokens();
  const deps = {
    store: db.store,
    orchestrator: tokens,
    tasks: ecsTaskControl({ client: ecs, cluster: CLUSTER }),
    clock: { now: () => Date.now() },
    plans: createPlanSource(db.store),
    // The steps run locally, so their secured values would come from the local vault; this run has none.
    vault: localVault(join(root, 'variables.key')),
  };
  const core = createCore(deps);
  runner.attach(core);

  const run = await createRun(
    {
      plan,
      repository: 'team/app',
      trigger: { kind: 'branch', ref: 'main', commit: 'c0ffee' },
      startedBy: 'bob',
    },
    deps,
  );
  await mkdir(paths.run(run.runId).source, { recursive: true });
  const execution = startExecution(
    plan.definition,
    localExecutionInput(run.runId, plan, { cluster: CLUSTER }),
    { control: (payload) => core.control(controlRequestOf(payload)), tokens, tasks: runner },
  );
  const task = await until('the deploy step to run', async () => {
    const current = await db.store.runs.get(run.runId);
    const step = current?.steps['0'];
    const log = await readFile(paths.run(run.runId).log(0), 'utf8').catch(() => '');
    return step?.status === 'RUNNING' && step.taskId && log.includes('deploy running')
      ? step.taskId
      : undefined;
  });

  // The API Lambda, as API Gateway invokes it for `finale stop`.
  const api = createApiHandler(() => ({
    core,
    authenticate: callerOf,
    runs: { start: () => Promise.reject(new Error('not in this test')) },
    logs: cloudWatchLogReader(new CloudWatchLogsClient({ region: REGION, credentials }), '/finale/steps'),
  }));
  const response = (await api(
    {
      version: '2.0',
      routeKey: '$default',
      rawPath: `/runs/${run.runId}/stop`,
      rawQueryString: '',
      headers: { host: 'api.example', 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'wrong version' }),
      isBase64Encoded: false,
      requestContext: {
        domainName: 'api.example',
        http: { method: 'POST', path: `/runs/${run.runId}/stop`, sourceIp: '192.0.2.1' },
        authorizer: { iam: { userArn: ALICE } },
      },
    } as never,
    {} as never,
  )) as { statusCode: number; body: string };
  expect(response.statusCode).toBe(202);
  expect(JSON.parse(response.body)).toMatchObject({
    status: 'STOPPING',
    mode: 'graceful',
    stoppedTasks: [task],
  });

  const ended = await execution.done;
  expect(ended).toMatchObject({ status: 'FAILED', error: 'Pipeline.Stopped' });
  expect(ecsMock.commandCalls(StopTaskCommand).map((call) => call.args[0].input)).toEqual([
    { cluster: CLUSTER, task, reason: `Stopped by ${ALICE}: wrong version` },
  ]);
  expect(sfnMock.calls()).toHaveLength(0);

  const finished = (await db.store.runs.get(run.runId))!;
  expect(finished).toMatchObject({ status: 'STOPPED', phase: 'done', stop: { by: ALICE, mode: 'graceful' } });
  expect(Object.values(finished.steps).map((step) => [step.name, step.status])).toEqual([
    ['Deploy', 'STOPPED'],
    ['Smoke test', 'NOT_RUN'],
    ['Cleanup', 'SUCCESSFUL'],
  ]);
  const deployLog = await readFile(paths.run(run.runId).log(0), 'utf8');
  expect(deployLog).toContain('deploy got TERM, releasing the state lock');
  expect(deployLog).toContain('after-script saw exit 143');
  expect(await readFile(paths.run(run.runId).log(2), 'utf8')).toContain('final step ran');

  // The events Lambda sees what ECS and Step Functions would report.
  server.route('POST', '/2.0/repositories/team/app/commit/c0ffee/statuses/build', 201, {});
  const events = createEventsHandler(() => ({
    core,
    sfn,
    host: async () => createHost({ kind: 'bitbucket-cloud', token: 't', apiUrl: `${server.url}/2.0` }),
    metrics: createMetrics(),
    prefix: 'finale',
  }));
  const taskStopped = {
    'detail-type': 'ECS Task State Change',
    detail: {
      taskArn: task,
      group: `finale:${run.runId}`,
      lastStatus: 'STOPPED',
      stopCode: 'UserInitiated',
      createdAt: new Date(finished.steps['0']!.startedAt! + 10).toISOString(),
      containers: [{ name: 'agent', exitCode: 240 }],
      overrides: {
        containerOverrides: [{ name: 'agent', environment: [{ name: TASK_ENV.step, value: '0' }] }],
      },
    },
  } as FinaleEvent;
  expect(await events(taskStopped)).toMatchObject({ action: 'task', started: false, ended: true });
  expect((await db.store.runs.get(run.runId))!.steps['0']).toMatchObject({
    stopCode: 'UserInitiated',
    exitCode: 143,
  });
  const executionEnded = {
    id: 'e2e-event',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:${run.runId}`,
      stateMachineArn: MACHINE,
      name: run.runId,
      status: 'FAILED',
    },
  } as FinaleEvent;
  expect(await events(executionEnded)).toEqual({ action: 'reported', runId: run.runId, status: 'STOPPED' });
  expect(JSON.parse(server.requests.at(-1)!.body)).toMatchObject({
    state: 'STOPPED',
    description: `#${run.buildNumber} stopped: Stopped`,
  });
});
