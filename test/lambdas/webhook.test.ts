// The webhook Lambda with deliveries: GitHub's real ones from @octokit/webhooks-examples, Bitbucket
// Cloud's and Data Center's in their documented shape (the real Bitbucket payloads of the shared
// corpus: test/corpus/webhooks.test.ts), each signed with a test secret. A run starts only for a
// right signature and a new delivery id.

import { createRequire } from 'node:module';
import { RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateStateMachineCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import type { HttpApiEvent } from '../../lambdas/http';
import { MAX_BODY_BYTES } from '../../lambdas/webhook/handler';
import { sign } from '../../lambdas/webhook/signature';
import type { HostConfig } from '../../repository-hosts/index';
import { CLOUD_PULL_REQUEST, CLOUD_PULL_REQUEST_SLASH, CLOUD_PUSH, PUSH_COMMIT } from './bitbucket-payloads';
import { useAwsHarness, WEBHOOK_SECRET } from './harness';

const octokit = createRequire(import.meta.url)('@octokit/webhooks-examples') as {
  name: string;
  examples: Record<string, unknown>[];
}[];
const github = (name: string, pick: (example: Record<string, unknown>) => boolean) =>
  octokit.find((definition) => definition.name === name)!.examples.find(pick)!;

const PIPELINES = `pipelines:
  default:
    - step:
        name: Test
        script:
          - make test
  branches:
    main:
      - step:
          name: Deploy
          deployment: production
          script:
            - ./deploy.sh
  tags:
    'v*':
      - step:
          script:
            - echo tag
  pull-requests:
    '**':
      - step:
          name: Lint
          script:
            - make lint
`;

let hostConfig: (url: string) => HostConfig = (url) => ({
  kind: 'bitbucket-cloud',
  token: 't',
  apiUrl: `${url}/2.0`,
});
const aws = useAwsHarness((server) => hostConfig(server.url));

const handler = () => aws.webhook();

let deliveryCounter = 0;
function delivery(
  headers: Record<string, string>,
  body: string,
  options: { signature?: string | null; base64?: boolean } = {},
): HttpApiEvent {
  const signature = options.signature === undefined ? sign(body, WEBHOOK_SECRET) : options.signature;
  const signatureHeader = headers['x-github-event'] ? 'x-hub-signature-256' : 'x-hub-signature';
  return {
    rawPath: '/webhooks',
    headers: {
      'content-type': 'application/json',
      ...headers,
      ...(signature ? { [signatureHeader]: signature } : {}),
    },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: Boolean(options.base64),
    requestContext: { http: { method: 'POST', path: '/webhooks' } },
  };
}
const cloud = (
  event: string,
  body: string,
  options?: Parameters<typeof delivery>[2],
  id = `uuid-${++deliveryCounter}`,
) => delivery({ 'x-event-key': event, 'x-request-uuid': id }, body, options);

const answer = (result: { statusCode: number; body: string }) => ({
  status: result.statusCode,
  body: JSON.parse(result.body) as Record<string, unknown> & {
    started: { runId: string; pipeline: string; ref: string; buildNumber: number }[];
    skipped?: { ref: string; reason: string }[];
    reason?: string;
    error?: string;
  },
});

const PUSH = CLOUD_PUSH;
const CLOUD_REPO = '/2.0/repositories/team_name/repo_name';

beforeEach(() => {
  hostConfig = (url) => ({ kind: 'bitbucket-cloud', token: 't', apiUrl: `${url}/2.0` });
});

describe('Bitbucket Cloud deliveries', () => {
  it('starts the selected pipeline for a push: task definition, state machine version, execution, status', async () => {
    aws.server.route('GET', `${CLOUD_REPO}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 200, PIPELINES);
    aws.server.route('POST', `${CLOUD_REPO}/commit/${PUSH_COMMIT}/statuses/build`, 201, {});
    const result = answer(await handler()(cloud('repo:push', PUSH)));
    expect(result.status).toBe(201);
    expect(result.body.started).toHaveLength(1);
    const [started] = result.body.started;
    expect(started).toMatchObject({ pipeline: 'default', ref: 'name-of-branch', buildNumber: 1 });

    const run = (await aws.db.store.runs.get(started!.runId))!;
    expect(run).toMatchObject({
      repository: 'team_name/repo_name',
      pipeline: 'default',
      status: 'PENDING',
      startedBy: 'emmap1',
      trigger: {
        kind: 'branch',
        ref: 'name-of-branch',
        commit: PUSH_COMMIT,
        message: 'new commit message\n',
      },
    });
    expect(aws.ecsMock.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
    expect(aws.sfnMock.commandCalls(CreateStateMachineCommand)).toHaveLength(1);
    const execution = aws.sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(execution.name).toBe(run.runId);
    expect(JSON.parse(execution.input!)).toMatchObject({ runId: run.runId, planHash: run.planHash });
    expect(run.engine?.execution).toContain(`:execution:`);

    const status = aws.server.requests.find((request) => request.method === 'POST')!;
    expect(status.url).toBe(`${CLOUD_REPO}/commit/${PUSH_COMMIT}/statuses/build`);
    expect(JSON.parse(status.body)).toMatchObject({
      state: 'INPROGRESS',
      name: 'Finale default',
      description: '#1 running',
      url: expect.stringContaining(`#/v2/executions/details/${run.engine!.execution}`),
    });
  });

  it('refuses a replayed delivery: same id, nothing started', async () => {
    aws.server.route('GET', `${CLOUD_REPO}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 200, PIPELINES);
    const first = answer(await handler()(cloud('repo:push', PUSH, {}, 'replayed-uuid')));
    expect(first.status).toBe(201);
    const again = answer(await handler()(cloud('repo:push', PUSH, {}, 'replayed-uuid')));
    expect(again.status).toBe(202);
    expect(again.body.reason).toBe('delivery replayed-uuid was already received');
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('refuses a captured body replayed under a new delivery id, within the change window', async () => {
    aws.server.route('GET', `${CLOUD_REPO}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 200, PIPELINES);
    expect(answer(await handler()(cloud('repo:push', PUSH, {}, 'original-uuid'))).status).toBe(201);
    // The signature covers the body only, so the replay is signed as well as the original.
    const replay = answer(await handler()(cloud('repo:push', PUSH, {}, 'forged-uuid')));
    expect(replay.status).toBe(202);
    expect(replay.body.started).toEqual([]);
    expect(replay.body.reason).toBe(
      `name-of-branch: this change (branch name-of-branch at ${PUSH_COMMIT.slice(0, 12)}) was received in the last 24 hours already (an earlier attempt of this delivery, or a replay)`,
    );
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
    // Another commit on the same branch is another change.
    const next = PUSH_COMMIT.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    aws.server.route('GET', `${CLOUD_REPO}/src/${next}/bitbucket-pipelines.yml`, 200, PIPELINES);
    const pushed = answer(
      await handler()(cloud('repo:push', PUSH.replaceAll(PUSH_COMMIT, next), {}, 'next-uuid')),
    );
    expect(pushed.status).toBe(201);
    // Past the window the change is forgotten (the window is compared, not left to TTL deletion).
    const items = await aws.db.client.send(new ScanCommand({ TableName: aws.db.tables.deliveries }));
    for (const item of (items.Items ?? []).filter((i) => String(i.deliveryId).startsWith('change:'))) {
      await aws.db.client.send(
        new UpdateCommand({
          TableName: aws.db.tables.deliveries,
          Key: { deliveryId: item.deliveryId },
          UpdateExpression: 'SET expiresAt = :past',
          ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 1 },
        }),
      );
    }
    expect(answer(await handler()(cloud('repo:push', PUSH, {}, 'late-uuid'))).status).toBe(201);
  });

  it('loses nothing when starting fails: the redelivery starts the run, once', async () => {
    // The host cannot serve the file: the start fails, the delivery is answered 500 and forgotten.
    aws.server.route('GET', `${CLOUD_REPO}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 503, 'down');
    const failed = answer(await handler()(cloud('repo:push', PUSH, {}, 'retried-uuid')));
    expect(failed.status).toBe(500);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    // Bitbucket retries the same delivery; now the host answers, and the run starts.
    aws.server.route('GET', `${CLOUD_REPO}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 200, PIPELINES);
    const retried = answer(await handler()(cloud('repo:push', PUSH, {}, 'retried-uuid')));
    expect(retried.status).toBe(201);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
    // A replay after that success starts nothing more.
    const replay = answer(await handler()(cloud('repo:push', PUSH, {}, 'retried-uuid')));
    expect(replay.status).toBe(202);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it("starts the custom pipelines the file's triggers add, each once, besides the selected pipeline", async () => {
    // Bitbucket: "they can be configured to run as many pipelines as you need in parallel"
    // (https://www.atlassian.com/blog/bitbucket/reimagining-how-you-structure-workflows-in-bitbucket-pipelines).
    const withTriggers = `${PIPELINES}  custom:
    unit-tests:
      - step: {script: [make test]}
    scan:
      - step: {script: [make scan]}
triggers:
  repository-push:
    - condition: glob(BITBUCKET_BRANCH, "name-of-*")
      pipelines: [unit-tests, scan]
    - condition: BITBUCKET_BRANCH == "main"
      pipelines: [scan]
`;
    aws.server.route('GET', `${CLOUD_REPO}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 200, withTriggers);
    aws.server.route('POST', `${CLOUD_REPO}/commit/${PUSH_COMMIT}/statuses/build`, 201, {});
    const result = answer(await handler()(cloud('repo:push', PUSH, {}, 'triggers-uuid')));
    expect(result.status).toBe(201);
    expect(result.body.started.map((run) => run.pipeline)).toEqual([
      'default',
      'custom:unit-tests',
      'custom:scan',
    ]);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(3);
    // The file is read once for the trigger.
    expect(aws.server.requests.filter((request) => request.method === 'GET')).toHaveLength(1);
    const again = answer(await handler()(cloud('repo:push', PUSH, {}, 'triggers-uuid')));
    expect(again.status).toBe(202);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(3);
  });

  it('rejects forged and unsigned deliveries with 401 and starts nothing', async () => {
    const forged = answer(
      await handler()(cloud('repo:push', PUSH, { signature: sign(PUSH, 'not-the-secret') })),
    );
    expect(forged.status).toBe(401);
    expect(forged.body.error).toMatch(/X-Hub-Signature signature does not match/);
    const tampered = PUSH.replace('name-of-branch', 'main');
    expect(
      answer(await handler()(cloud('repo:push', tampered, { signature: sign(PUSH, WEBHOOK_SECRET) }))).status,
    ).toBe(401);
    const unsigned = answer(await handler()(cloud('repo:push', PUSH, { signature: null })));
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.error).toMatch(/not signed/);
    expect(answer(await handler()(cloud('repo:push', PUSH, { signature: 'sha1=abc' }))).status).toBe(401);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(aws.server.requests).toHaveLength(0);
  });

  it('rejects oversized and malformed bodies', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(MAX_BODY_BYTES) });
    expect(answer(await handler()(cloud('repo:push', big))).status).toBe(413);
    const notJson = answer(await handler()(cloud('repo:push', '{"push": ')));
    expect(notJson).toEqual({ status: 400, body: { error: 'the body is not JSON' } });
    const wrong = answer(await handler()(cloud('repo:push', JSON.stringify({ push: { changes: 'no' } }))));
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatch(/^repo:push payload: /);
    expect(answer(await handler()(delivery({}, '{}'))).status).toBe(400);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('verifies the raw body when API Gateway base64-encodes it', async () => {
    aws.server.route('GET', `${CLOUD_REPO}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 200, PIPELINES);
    expect(answer(await handler()(cloud('repo:push', PUSH, { base64: true }))).status).toBe(201);
  });

  it('starts the pull-requests pipeline for a pull request created from a slash branch', async () => {
    const body = CLOUD_PULL_REQUEST_SLASH;
    aws.server.route(
      'GET',
      '/2.0/repositories/brydzewski/foo/src/507a576e59b3/bitbucket-pipelines.yml',
      200,
      PIPELINES,
    );
    const result = answer(await handler()(cloud('pullrequest:created', body)));
    expect(result.status).toBe(201);
    const run = (await aws.db.store.runs.get(result.body.started[0]!.runId))!;
    expect(run.pipeline).toBe('pull-requests:**');
    expect(run.trigger).toEqual({
      kind: 'pull-request',
      ref: 'feature/develop',
      commit: '507a576e59b3',
      destination: 'master',
      pullRequestId: '1',
    });
  });

  it('answers 202 with the reason when nothing starts', async () => {
    const body = CLOUD_PULL_REQUEST;
    // No pipeline file at the commit.
    const missing = answer(await handler()(cloud('pullrequest:updated', body)));
    expect(missing.status).toBe(202);
    expect(missing.body.reason).toBe(
      'branch2: no pipeline runs: team_name/repo_name has no bitbucket-pipelines.yml at d3022fc0ca3d',
    );
    const ignored = answer(await handler()(cloud('repo:commit_comment_created', '{}')));
    expect(ignored).toMatchObject({
      status: 202,
      body: { reason: 'Bitbucket Cloud event repo:commit_comment_created starts nothing' },
    });
  });

  it('handles several changes in one push: branches, tags and deletions', async () => {
    const push = JSON.parse(PUSH) as { push: { changes: Record<string, unknown>[] } };
    const [change] = push.push.changes;
    const ref = (type: string, name: string, hash: string) => ({
      type,
      name,
      target: { type: 'commit', hash },
    });
    push.push.changes = [
      { ...change, new: ref('branch', 'main', 'aaa111'), old: ref('branch', 'main', 'aaa000') },
      { ...change, new: ref('tag', 'v1.2.0', 'aaa111'), old: null },
      { ...change, new: null, old: ref('branch', 'old-feature', 'bbb000') },
    ];
    aws.server.route('GET', `${CLOUD_REPO}/src/aaa111/bitbucket-pipelines.yml`, 200, PIPELINES);
    const result = answer(await handler()(cloud('repo:push', JSON.stringify(push))));
    expect(result.status).toBe(201);
    expect(result.body.started.map((run) => [run.ref, run.pipeline])).toEqual([
      ['main', 'branches:main'],
      ['v1.2.0', 'tags:v*'],
    ]);
    expect(result.body.skipped).toEqual([{ ref: 'old-feature', reason: 'branch old-feature was deleted' }]);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });

  it('reports an invalid pipeline file as a FAILED status and starts nothing', async () => {
    aws.server.route(
      'GET',
      `${CLOUD_REPO}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`,
      200,
      'pipelines:\n  default: 3\n',
    );
    aws.server.route('POST', `${CLOUD_REPO}/commit/${PUSH_COMMIT}/statuses/build`, 201, {});
    const result = answer(await handler()(cloud('repo:push', PUSH)));
    expect(result.status).toBe(202);
    expect(result.body.skipped![0]!.reason).toMatch(/bitbucket-pipelines\.yml is not valid/);
    const status = JSON.parse(aws.server.requests.find((request) => request.method === 'POST')!.body);
    expect(status).toMatchObject({
      state: 'FAILED',
      description: expect.stringMatching(/^bitbucket-pipelines\.yml is not valid: /),
    });
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('answers 500 when the host fails, saying what failed, and starts nothing', async () => {
    aws.server.route('GET', `${CLOUD_REPO}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 503, {
      error: 'maintenance',
    });
    const before = (await aws.db.store.runs.list('team_name/repo_name', { limit: 200 })).items.length;
    const result = answer(await handler()(cloud('repo:push', PUSH)));
    expect(result.status).toBe(500);
    expect(result.body.error).toMatch(
      /^Finale could not handle the delivery: Bitbucket Cloud answered 503 to GET \/2\.0\/repositories\/team_name\/repo_name\/src\//,
    );
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect((await aws.db.store.runs.list('team_name/repo_name', { limit: 200 })).items).toHaveLength(before);
  });

  it('refuses a delivery from another kind of host than the deployment serves', async () => {
    const push = github('push', (example) => example.ref === 'refs/heads/master');
    const body = JSON.stringify(push);
    const result = answer(
      await handler()(
        delivery({ 'x-github-event': 'push', 'x-github-delivery': `gh-${++deliveryCounter}` }, body),
      ),
    );
    expect(result).toMatchObject({
      status: 202,
      body: { reason: 'this Finale serves Bitbucket Cloud repositories, not GitHub' },
    });
  });
});

describe('GitHub deliveries', () => {
  beforeEach(() => {
    hostConfig = (url) => ({ kind: 'github', token: 'ghp', apiUrl: url });
  });
  const gh = (event: string, payload: unknown, options?: Parameters<typeof delivery>[2]) =>
    delivery(
      { 'x-github-event': event, 'x-github-delivery': `gh-${++deliveryCounter}` },
      JSON.stringify(payload),
      options,
    );

  it('starts a branch push with X-Hub-Signature-256, and rejects a wrong one', async () => {
    const push = github('push', (example) => example.ref === 'refs/heads/master');
    aws.server.route(
      'GET',
      `/repos/Codertocat/Hello-World/contents/bitbucket-pipelines.yml?ref=${push.after}`,
      200,
      PIPELINES,
    );
    aws.server.route('POST', `/repos/Codertocat/Hello-World/statuses/${push.after}`, 201, {});
    const result = answer(await handler()(gh('push', push)));
    expect(result.status).toBe(201);
    expect(result.body.started[0]).toMatchObject({ pipeline: 'default', ref: 'master' });
    const status = aws.server.requests.find((request) => request.method === 'POST')!;
    expect(JSON.parse(status.body)).toMatchObject({ state: 'pending', context: 'Finale default' });
    expect(answer(await handler()(gh('push', push, { signature: sign('{}', WEBHOOK_SECRET) }))).status).toBe(
      401,
    );
  });

  it('skips a deleted tag with the reason', async () => {
    const deleted = github('push', (example) => example.deleted === true);
    const result = answer(await handler()(gh('push', deleted)));
    expect(result).toMatchObject({ status: 202, body: { reason: 'simple-tag: tag simple-tag was deleted' } });
  });

  it('starts the pull-requests pipeline for an opened pull request, and not for a label', async () => {
    const opened = github('pull_request', (example) => example.action === 'opened');
    const sha = (opened.pull_request as { head: { sha: string } }).head.sha;
    aws.server.route(
      'GET',
      `/repos/Codertocat/Hello-World/contents/bitbucket-pipelines.yml?ref=${sha}`,
      200,
      PIPELINES,
    );
    const result = answer(await handler()(gh('pull_request', opened)));
    expect(result.status).toBe(201);
    const run = (await aws.db.store.runs.get(result.body.started[0]!.runId))!;
    expect(run.trigger).toEqual({
      kind: 'pull-request',
      ref: 'changes',
      commit: sha,
      destination: 'master',
      pullRequestId: '2',
    });
    const labeled = github('pull_request', (example) => example.action === 'labeled');
    expect(answer(await handler()(gh('pull_request', labeled))).body.reason).toBe(
      'pull_request action labeled starts nothing',
    );
  });
});

describe('Bitbucket Data Center deliveries', () => {
  beforeEach(() => {
    hostConfig = (url) => ({ kind: 'bitbucket-data-center', baseUrl: url, token: 'bbdc' });
  });
  const repository = {
    slug: 'repository',
    id: 84,
    name: 'repository',
    project: { key: 'PROJ', id: 84, name: 'project' },
  };
  const dc = (event: string, payload: unknown) =>
    delivery({ 'x-event-key': event, 'x-request-id': `dc-${++deliveryCounter}` }, JSON.stringify(payload));

  it('starts runs for updated and added refs of repo:refs_changed and skips deletions', async () => {
    const payload = {
      eventKey: 'repo:refs_changed',
      date: '2017-09-19T09:45:32+1000',
      actor: {
        name: 'admin',
        emailAddress: 'admin@example.com',
        id: 1,
        displayName: 'Administrator',
        slug: 'admin',
      },
      repository,
      changes: [
        {
          ref: { id: 'refs/heads/main', displayId: 'main', type: 'BRANCH' },
          refId: 'refs/heads/main',
          fromHash: 'ecddabb624f6f5ba43816f5926e580a5f680a932',
          toHash: '178864a7d521b6f5e720b386b2c2b0ef8563e0dc',
          type: 'UPDATE',
        },
        {
          ref: { id: 'refs/heads/gone', displayId: 'gone', type: 'BRANCH' },
          refId: 'refs/heads/gone',
          fromHash: '178864a7d521b6f5e720b386b2c2b0ef8563e0dc',
          toHash: '0000000000000000000000000000000000000000',
          type: 'DELETE',
        },
      ],
    };
    const api = '/rest/api/latest/projects/PROJ/repos/repository';
    aws.server.route(
      'GET',
      `${api}/raw/bitbucket-pipelines.yml?at=178864a7d521b6f5e720b386b2c2b0ef8563e0dc`,
      200,
      PIPELINES,
    );
    aws.server.route('POST', `${api}/commits/178864a7d521b6f5e720b386b2c2b0ef8563e0dc/builds`, 204, '');
    const result = answer(await handler()(dc('repo:refs_changed', payload)));
    expect(result.status).toBe(201);
    expect(result.body.started.map((run) => [run.ref, run.pipeline])).toEqual([['main', 'branches:main']]);
    expect(result.body.skipped).toEqual([{ ref: 'gone', reason: 'branch gone was deleted' }]);
    const run = (await aws.db.store.runs.get(result.body.started[0]!.runId))!;
    expect(run).toMatchObject({ repository: 'PROJ/repository', startedBy: 'admin' });
    expect(aws.server.requests.find((request) => request.method === 'POST')!.headers.authorization).toBe(
      'Bearer bbdc',
    );
  });

  it('builds pr:opened and refuses pull requests from forks', async () => {
    const ref = (name: string, commit: string, repo = repository) => ({
      id: `refs/heads/${name}`,
      displayId: name,
      latestCommit: commit,
      repository: repo,
    });
    const opened = {
      eventKey: 'pr:opened',
      actor: { name: 'jcitizen' },
      pullRequest: { id: 2, fromRef: ref('develop', 'abc'), toRef: ref('main', 'def') },
    };
    aws.server.route(
      'GET',
      '/rest/api/latest/projects/PROJ/repos/repository/raw/bitbucket-pipelines.yml?at=abc',
      200,
      PIPELINES,
    );
    const result = answer(await handler()(dc('pr:opened', opened)));
    expect(result.status).toBe(201);
    const fork = {
      ...opened,
      pullRequest: {
        ...opened.pullRequest,
        fromRef: ref('develop', 'abc', {
          ...repository,
          project: { ...repository.project, key: '~MALLORY' },
        }),
      },
    };
    const refused = answer(await handler()(dc('pr:opened', fork)));
    expect(refused.status).toBe(202);
    expect(refused.body.reason).toMatch(/pull requests from forks \(~MALLORY\/repository\) are not built/);
  });
});
