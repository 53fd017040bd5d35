// The API Lambda (the Hono app through hono/aws-lambda, the caller from the IAM authorizer) and the
// control Lambda (dispatchControl, errors named for the state machine's Catch), on dynalite with
// Step Functions and ECS mocked.

import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { StopTaskCommand } from '@aws-sdk/client-ecs';
import { SendTaskFailureCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { cloudWatchLogReader } from '../../aws/logs';
import { createRun } from '../../core/runs';
import { awsRunStarter, callerOf, createApiHandler } from '../../lambdas/api/handler';
import { createControlHandler } from '../../lambdas/control/handler';
import { planOfYaml } from '../statemachine/compiler/support';
import { CLUSTER, REGION, useAwsHarness } from './harness';

const aws = useAwsHarness((server) => ({ kind: 'github', token: 'ghp', apiUrl: server.url }));
const ALICE = 'arn:aws:sts::123456789012:assumed-role/Developer/alice';

const PIPELINES = `pipelines:
  default:
    - step:
        script:
          - make
  custom:
    deploy:
      - variables:
          - name: TARGET
            default: staging
      - step:
          name: Deploy
          script:
            - ./deploy.sh $TARGET
`;

const api = () => {
  const core = aws.core();
  return createApiHandler(() => ({
    core,
    authenticate: callerOf,
    runs: awsRunStarter({ core, executor: aws.executor(), host: async () => aws.host(), region: REGION }),
    logs: cloudWatchLogReader(new CloudWatchLogsClient({ region: REGION }), '/finale/steps'),
  }));
};

async function call(method: string, path: string, options: { body?: unknown; user?: string | null } = {}) {
  const [rawPath, rawQueryString = ''] = path.split('?');
  const user = options.user === undefined ? ALICE : options.user;
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: { host: 'abc.execute-api.eu-west-1.amazonaws.com', 'content-type': 'application/json' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc',
      domainName: 'abc.execute-api.eu-west-1.amazonaws.com',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'finale' },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '22/Nov/2026:03:00:00 +0000',
      timeEpoch: Date.now(),
      ...(user ? { authorizer: { iam: { userArn: user } } } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    isBase64Encoded: false,
  };
  const result = (await api()(event as never, {} as never)) as { statusCode: number; body: string };
  return { status: result.statusCode, body: JSON.parse(result.body) };
}

describe('API Lambda', () => {
  it('knows the caller from the IAM authorizer, and refuses a request without one', async () => {
    expect(await call('GET', '/health')).toEqual({ status: 200, body: { ok: true, user: ALICE } });
    const anonymous = await call('GET', '/health', { user: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.message).toMatch(/sign it with SigV4/);
  });

  it('starts a custom pipeline at the default branch head, with its variables', async () => {
    aws.server.route('GET', '/repos/octo/app', 200, { default_branch: 'main' });
    aws.server.route('GET', '/repos/octo/app/branches/main', 200, { commit: { sha: 'c0ffee' } });
    aws.server.route('GET', '/repos/octo/app/contents/bitbucket-pipelines.yml?ref=c0ffee', 200, PIPELINES);
    aws.server.route('POST', '/repos/octo/app/statuses/c0ffee', 201, {});
    const result = await call('POST', '/runs?repository=octo/app', {
      body: { pipeline: 'custom:deploy', variables: { TARGET: 'production' } },
    });
    expect(result.status).toBe(201);
    expect(result.body.run).toMatchObject({
      repository: 'octo/app',
      pipeline: 'custom:deploy',
      startedBy: ALICE,
      variables: { TARGET: 'production' },
      trigger: { kind: 'custom', ref: 'deploy', commit: 'c0ffee', branch: 'main' },
    });
    const started = aws.sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(started.name).toBe(result.body.run.runId);
  });

  it('answers 422 with the reason when the variables are wrong, and starts nothing', async () => {
    aws.server.route('GET', '/repos/octo/app/branches/main', 200, { commit: { sha: 'c0ffee' } });
    aws.server.route('GET', '/repos/octo/app/contents/bitbucket-pipelines.yml?ref=c0ffee', 200, PIPELINES);
    const result = await call('POST', '/runs?repository=octo/app', {
      body: { pipeline: 'custom:deploy', branch: 'main', variables: { NOPE: '1' } },
    });
    expect(result.status).toBe(422);
    expect(result.body.error.errors).toEqual(['`NOPE` is not a variable of `custom:deploy`']);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('stops a running step with StopTask naming who stopped, and fails a waiting approval', async () => {
    const plan = planOfYaml(
      'pipelines:\n  default:\n    - step:\n        script:\n          - make\n    - step:\n        trigger: manual\n        script:\n          - ./ship\n',
    );
    const deps = { store: aws.db.store, clock: { now: () => Date.now() } };
    const trigger = { kind: 'branch' as const, ref: 'main', commit: 'c0ffee' };
    const running = await createRun({ plan, repository: 'octo/app', trigger, startedBy: 'x' }, deps);
    await aws.db.store.runs.start(running.runId, Date.now());
    await aws.db.store.runs.beginStep(running.runId, 0, { at: Date.now(), requireRunning: true });
    const task = 'arn:aws:ecs:eu-west-1:123456789012:task/finale/0f0f';
    await aws.db.store.runs.recordTaskStarted(running.runId, 0, task);
    const stopped = await call('POST', `/runs/${running.runId}/stop`, {
      body: { reason: 'deploying the wrong tag' },
    });
    expect(stopped.status).toBe(202);
    expect(stopped.body).toMatchObject({ status: 'STOPPING', mode: 'graceful', stoppedTasks: [task] });
    expect(aws.ecsMock.commandCalls(StopTaskCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: CLUSTER, task, reason: `Stopped by ${ALICE}: deploying the wrong tag` },
    ]);

    const waiting = await createRun({ plan, repository: 'octo/app', trigger, startedBy: 'x' }, deps);
    await aws.db.store.runs.start(waiting.runId, Date.now());
    await aws.db.store.runs.pauseForApproval(waiting.runId, {
      kind: 'approval',
      step: 1,
      taskToken: 'token-42',
      since: Date.now(),
    });
    expect((await call('POST', `/runs/${waiting.buildNumber}/stop?repository=octo/app`)).status).toBe(202);
    expect(aws.sfnMock.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input)).toEqual([
      { taskToken: 'token-42', error: 'Pipeline.Stopped', cause: `Stopped by ${ALICE}` },
    ]);
  });
});

describe('control Lambda', () => {
  it('runs a control action, and throws errors whose name the Catch matches', async () => {
    const control = createControlHandler(() => aws.core());
    const plan = planOfYaml('pipelines:\n  default:\n    - step:\n        script:\n          - make\n');
    const run = await createRun(
      { plan, repository: 'octo/app', trigger: { kind: 'branch', ref: 'main', commit: 'c' }, startedBy: 'x' },
      { store: aws.db.store, clock: { now: () => Date.now() } },
    );
    expect(await control({ action: 'startRun', runId: run.runId })).toEqual({ status: 'RUNNING' });
    const current = (await aws.db.store.runs.get(run.runId))!;
    await aws.db.store.runs.requestStop(run.runId, {
      status: 'STOPPING',
      record: { by: 'alice', mode: 'graceful', at: Date.now() },
      expectedVersion: current.version,
    });
    const refused = await control({ action: 'beginStep', runId: run.runId, step: 0 }).catch(
      (error: Error) => error,
    );
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).name).toBe('Run.NotRunning');
    const invalid = await control({ action: 'launch', runId: run.runId } as never).catch(
      (error: Error) => error,
    );
    expect((invalid as Error).name).toBe('Control.InvalidRequest');
  });
});
