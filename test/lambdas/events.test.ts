// The events Lambda on real records (dynalite) with ECS and Step Functions mocked: ECS task events
// index and stop step tasks; execution events report the commit status and metrics, or recover a run
// whose execution ended outside Finale.

import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMetrics, METRICS } from '../../aws/metrics';
import { createRun } from '../../core/runs';
import { createEventsHandler, type FinaleEvent } from '../../lambdas/events/handler';
import { TASK_ENV } from '../../statemachine/compiler/plan';
import { planOfYaml } from '../statemachine/compiler/support';
import { ACCOUNT, CLUSTER, REGION, useAwsHarness } from './harness';

beforeAll(() => {
  // Powertools writes EMF through the global console in dev mode, where the test can read it.
  process.env.POWERTOOLS_DEV = 'true';
  // …which would otherwise also switch metrics off.
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});
afterEach(() => vi.restoreAllMocks());

const aws = useAwsHarness((server) => ({ kind: 'github', token: 'ghp', apiUrl: server.url }));
const handler = () =>
  createEventsHandler(() => ({
    core: aws.core(),
    sfn: aws.sfn,
    host: async () => aws.host(),
    metrics: createMetrics(),
    prefix: 'finale',
  }));

const PLAN = planOfYaml(`pipelines:
  default:
    - step:
        name: Build
        script:
          - make
    - step:
        name: Deploy
        deployment: production
        script:
          - ./deploy.sh
    - final:
        name: Cleanup
        script:
          - ./cleanup.sh
`);

async function newRun() {
  return createRun(
    {
      plan: PLAN,
      repository: 'octo/app',
      trigger: { kind: 'branch', ref: 'main', commit: 'c0ffee' },
      startedBy: 'octocat',
    },
    { store: aws.db.store, clock: { now: () => Date.now() } },
  );
}

const taskArn = (id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/finale/${id}`;
function taskEvent(
  runId: string,
  step: number,
  id: string,
  detail: Record<string, unknown> = {},
): FinaleEvent {
  return {
    'detail-type': 'ECS Task State Change',
    detail: {
      taskArn: taskArn(id),
      group: `finale:${runId}`,
      lastStatus: 'RUNNING',
      createdAt: new Date().toISOString(),
      overrides: {
        containerOverrides: [
          {
            name: 'agent',
            environment: [
              { name: TASK_ENV.runId, value: runId },
              { name: TASK_ENV.step, value: String(step) },
            ],
          },
        ],
      },
      ...detail,
    },
  } as FinaleEvent;
}

const machine = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:finale-octo-app-default-0123456789ab`;
function executionEvent(name: string, status: string, id = `evt-${Math.random()}`): FinaleEvent {
  return {
    id,
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${name}`,
      stateMachineArn: machine,
      name,
      status,
    },
  } as FinaleEvent;
}

describe('ECS Task State Change', () => {
  it('records the task of a running step on first sight, once', async () => {
    const run = await newRun();
    await aws.db.store.runs.start(run.runId, Date.now());
    await aws.db.store.runs.beginStep(run.runId, 0, { at: Date.now() - 5000, requireRunning: true });
    const first = await handler()(taskEvent(run.runId, 0, 'task-a'));
    expect(first).toEqual({
      action: 'task',
      runId: run.runId,
      step: 0,
      started: true,
      stopped: false,
      ended: false,
    });
    expect((await aws.db.store.runs.get(run.runId))!.steps['0']!.taskId).toBe(taskArn('task-a'));
    const repeated = await handler()(taskEvent(run.runId, 0, 'task-a'));
    expect(repeated).toMatchObject({ started: false, stopped: false });
    expect(aws.ecsMock.commandCalls(StopTaskCommand)).toHaveLength(0);
  });

  it('stops on sight the task of a run stopped before its task was known', async () => {
    const run = await newRun();
    const started = await aws.db.store.runs.start(run.runId, Date.now());
    const begun = await aws.db.store.runs.beginStep(run.runId, 0, {
      at: Date.now() - 5000,
      requireRunning: true,
    });
    expect(begun.version).toBeGreaterThan(started.version);
    await aws.db.store.runs.requestStop(run.runId, {
      status: 'STOPPING',
      record: {
        by: 'arn:aws:iam::123456789012:user/alice',
        mode: 'graceful',
        reason: 'wrong branch',
        at: Date.now(),
      },
      expectedVersion: begun.version,
    });
    const outcome = await handler()(taskEvent(run.runId, 0, 'task-late', { lastStatus: 'PROVISIONING' }));
    expect(outcome).toMatchObject({ action: 'task', started: true, stopped: true });
    expect(aws.ecsMock.commandCalls(StopTaskCommand).map((call) => call.args[0].input)).toEqual([
      {
        cluster: CLUSTER,
        task: taskArn('task-late'),
        reason: 'Stopped by arn:aws:iam::123456789012:user/alice: wrong branch',
      },
    ]);
  });

  it('records the stop code when the task stops, and the agent exit code only if the agent reported none', async () => {
    const run = await newRun();
    await aws.db.store.runs.start(run.runId, Date.now());
    await aws.db.store.runs.beginStep(run.runId, 0, { at: Date.now() - 5000, requireRunning: true });
    await handler()(
      taskEvent(run.runId, 0, 'task-b', {
        lastStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        containers: [
          { name: 'agent', exitCode: 242 },
          { name: 'step', exitCode: 137 },
        ],
      }),
    );
    expect((await aws.db.store.runs.get(run.runId))!.steps['0']).toMatchObject({
      taskId: taskArn('task-b'),
      stopCode: 'EssentialContainerExited',
      exitCode: 242,
    });
    // The agent's own report (the script's exit code) is kept when ECS's event comes later.
    await aws.db.store.runs.beginStep(run.runId, 1, { at: Date.now() - 5000, requireRunning: true });
    await aws.db.store.runs.recordTaskEnded(run.runId, 1, { exitCode: 3, outputs: {} });
    await handler()(
      taskEvent(run.runId, 1, 'task-c', {
        lastStatus: 'STOPPED',
        stopCode: 'UserInitiated',
        containers: [{ name: 'agent', exitCode: 240 }],
      }),
    );
    expect((await aws.db.store.runs.get(run.runId))!.steps['1']).toMatchObject({
      stopCode: 'UserInitiated',
      exitCode: 3,
    });
  });

  it('ignores tasks of earlier attempts and tasks that are not Finale steps', async () => {
    const run = await newRun();
    await aws.db.store.runs.start(run.runId, Date.now());
    await aws.db.store.runs.beginStep(run.runId, 0, { at: Date.now(), requireRunning: true });
    const stale = await handler()(
      taskEvent(run.runId, 0, 'old', { createdAt: new Date(Date.now() - 60_000).toISOString() }),
    );
    expect(stale).toMatchObject({ action: 'ignored', why: expect.stringMatching(/earlier attempt/) });
    const foreign = await handler()({
      'detail-type': 'ECS Task State Change',
      detail: { taskArn: taskArn('web'), group: 'service:web', lastStatus: 'RUNNING' },
    });
    expect(foreign).toMatchObject({ action: 'ignored' });
    expect((await aws.db.store.runs.get(run.runId))!.steps['0']!.taskId).toBeUndefined();
  });
});

describe('Step Functions Execution Status Change', () => {
  it('reports the finished run to the host and emits its metrics', async () => {
    const run = await newRun();
    const started = await aws.db.store.runs.start(run.runId, run.createdAt + 4000);
    const final = await aws.db.store.runs.enterFinal(run.runId, {
      outcome: { status: 'STOPPED', reason: 'stopped' },
      notRun: [1],
      expectedVersion: started.version,
    });
    await aws.db.store.runs.finish(run.runId, {
      status: 'STOPPED',
      reason: 'stopped',
      endedAt: run.createdAt + 64_000,
      expectedVersion: final.version,
    });
    aws.server.route('POST', '/repos/octo/app/statuses/c0ffee', 201, {});
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const event = executionEvent(run.runId, 'FAILED', 'event-1');
    expect(await handler()(event)).toEqual({ action: 'reported', runId: run.runId, status: 'STOPPED' });

    const statuses = aws.server.requests.filter((request) => request.method === 'POST');
    expect(statuses).toHaveLength(1);
    expect(JSON.parse(statuses[0]!.body)).toEqual({
      state: 'error',
      context: 'Finale default',
      description: `#${run.buildNumber} stopped: Stopped`,
      target_url: expect.stringContaining('/states/home?region=eu-west-1'),
    });
    const emf = log.mock.calls
      .map(([line]) => String(line))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      service: METRICS.service,
      [METRICS.names.runs]: 1,
      [METRICS.names.successfulRuns]: 0,
      [METRICS.names.queueTime]: 4,
      [METRICS.names.duration]: 60,
    });
    expect(emf[0]).not.toHaveProperty(METRICS.names.deployments);
    expect(
      (emf[0]!._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]!.Namespace,
    ).toBe('Finale');
  });

  it('recovers a run whose execution was aborted: marked aborted, then a recovery execution of the same version', async () => {
    const run = await newRun();
    await aws.db.store.runs.start(run.runId, Date.now());
    await aws.db.store.runs.beginStep(run.runId, 0, { at: Date.now(), requireRunning: true });
    const version = `${machine}:4`;
    const input = {
      runId: run.runId,
      planHash: PLAN.hash,
      env: { control: 'arn:control', taskDefinitions: {} },
    };
    aws.sfnMock.on(DescribeExecutionCommand).resolves({
      stateMachineArn: machine,
      stateMachineVersionArn: version,
      input: JSON.stringify(input),
    } as never);
    const outcome = await handler()(executionEvent(run.runId, 'ABORTED'));
    expect(outcome).toMatchObject({ action: 'recovering', runId: run.runId });
    const recovered = (await aws.db.store.runs.get(run.runId))!;
    expect(recovered.outcome).toEqual({ status: 'ERROR', reason: 'aborted' });
    expect(recovered.steps['0']!.status).toBe('ERROR');
    expect(aws.sfnMock.commandCalls(StartExecutionCommand).map((call) => call.args[0].input)).toEqual([
      {
        stateMachineArn: version,
        name: `${run.runId}-recovery`,
        input: JSON.stringify({ ...input, recover: true }),
      },
    ]);
    // No status yet: the recovery's own end reports it.
    expect(aws.server.requests.filter((request) => request.method === 'POST')).toHaveLength(0);
  });

  it('finishes a run whose recovery execution also failed, releasing what it holds', async () => {
    const run = await newRun();
    const started = await aws.db.store.runs.start(run.runId, Date.now());
    await aws.db.store.runs.recordAbandoned(run.runId, {
      outcome: { status: 'ERROR', reason: 'aborted' },
      erroredSteps: [],
      endedAt: Date.now(),
      note: { at: Date.now(), text: 'aborted in the test' },
      expectedVersion: started.version,
    });
    aws.server.route('POST', '/repos/octo/app/statuses/c0ffee', 201, {});
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const outcome = await handler()(executionEvent(`${run.runId}-recovery`, 'FAILED'));
    expect(outcome).toEqual({ action: 'reported', runId: run.runId, status: 'ERROR' });
    expect((await aws.db.store.runs.get(run.runId))!.phase).toBe('done');
    expect(JSON.parse(aws.server.requests.find((request) => request.method === 'POST')!.body).state).toBe(
      'failure',
    );
  });

  it('ignores running executions and executions of other state machines', async () => {
    expect(await handler()(executionEvent('x', 'RUNNING'))).toMatchObject({ action: 'ignored' });
    const other = executionEvent('y', 'ABORTED') as unknown as { detail: Record<string, unknown> };
    other.detail.stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:payments`;
    expect(await handler()(other as unknown as FinaleEvent)).toMatchObject({ action: 'ignored' });
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});
