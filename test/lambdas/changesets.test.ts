// Changeset conditions end to end through the webhook Lambda: the files a trigger changed come from
// the host's API (a local fake, exact requests asserted) or from a GitHub push's own lists, and a step
// whose condition they miss is recorded SKIPPED. When the host cannot tell, every step runs.

import { createRequire } from 'node:module';
import { beforeEach, describe, expect, it } from 'vitest';
import type { HttpApiEvent } from '../../lambdas/http';
import { sign } from '../../lambdas/webhook/signature';
import type { HostConfig } from '../../repository-hosts/index';
import type { RunRecord } from '../../store/records';
import { CLOUD_PULL_REQUEST, CLOUD_PUSH, PUSH_COMMIT } from './bitbucket-payloads';
import { useAwsHarness, WEBHOOK_SECRET } from './harness';

const steps = (name: string) => `
    - step:
        name: Build
        condition:
          changesets:
            includePaths:
              - "src/**"
        script:
          - make build
    - step:
        name: Docs
        condition:
          changesets:
            includePaths:
              - "docs/**"
        script:
          - make docs
    - step:
        name: ${name}
        script:
          - echo always
`;
const PIPELINES = `pipelines:
  default:${steps('Always')}
  pull-requests:
    '**':${steps('Lint')}
`;

let hostConfig: (url: string) => HostConfig;
const aws = useAwsHarness((server) => hostConfig(server.url));
const warnings: string[] = [];
beforeEach(() => {
  warnings.length = 0;
});

const handler = () =>
  aws.webhook({
    info: () => undefined,
    error: () => undefined,
    warn: (message) => void warnings.push(typeof message === 'string' ? message : message.message),
  });

let counter = 0;
function delivery(headers: Record<string, string>, body: string): HttpApiEvent {
  const header = headers['x-github-event'] ? 'x-hub-signature-256' : 'x-hub-signature';
  return {
    rawPath: '/webhooks',
    headers: { 'content-type': 'application/json', ...headers, [header]: sign(body, WEBHOOK_SECRET) },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path: '/webhooks' } },
  };
}

/** The started run's steps as name → status. */
async function deliver(event: HttpApiEvent): Promise<Record<string, string>> {
  const result = await handler()(event);
  expect(result.statusCode).toBe(201);
  const { started } = JSON.parse(result.body) as { started: { runId: string }[] };
  const run = (await aws.db.store.runs.get(started[0]!.runId)) as RunRecord;
  return Object.fromEntries(Object.values(run.steps).map((step) => [step.name, step.status]));
}
const sent = () => aws.server.requests.map((request) => `${request.method} ${request.url}`);

describe('Bitbucket Cloud', () => {
  beforeEach(() => {
    hostConfig = (url) => ({ kind: 'bitbucket-cloud', token: 't', apiUrl: `${url}/2.0` });
  });
  const repo = '/2.0/repositories/team_name/repo_name';
  const cloud = (event: string, body: string) =>
    delivery({ 'x-event-key': event, 'x-request-uuid': `changes-${++counter}` }, body);

  it('a push whose commit touches only docs/ skips the step conditioned on src/**', async () => {
    aws.server.route('GET', `${repo}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 200, PIPELINES);
    aws.server.route('GET', `${repo}/diffstat/${PUSH_COMMIT}`, 200, {
      values: [{ status: 'modified', old: { path: 'docs/index.md' }, new: { path: 'docs/index.md' } }],
    });
    aws.server.route('POST', `${repo}/commit/${PUSH_COMMIT}/statuses/build`, 201, {});
    expect(await deliver(cloud('repo:push', CLOUD_PUSH))).toEqual({
      Build: 'SKIPPED',
      Docs: 'PENDING',
      Always: 'PENDING',
    });
    expect(sent()).toEqual([
      `GET ${repo}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`,
      `GET ${repo}/diffstat/${PUSH_COMMIT}`,
      `POST ${repo}/commit/${PUSH_COMMIT}/statuses/build`,
    ]);
    expect(warnings).toEqual([]);
  });

  it('a pull request counts its changes since the merge base with the destination commit', async () => {
    const pr = JSON.parse(CLOUD_PULL_REQUEST) as {
      pullrequest: { source: { commit: { hash: string } }; destination: { commit: { hash: string } } };
    };
    const head = pr.pullrequest.source.commit.hash;
    const base = pr.pullrequest.destination.commit.hash;
    aws.server.route('GET', `${repo}/src/${head}/bitbucket-pipelines.yml`, 200, PIPELINES);
    aws.server.route('GET', `${repo}/diffstat/${head}..${base}?topic=true`, 200, {
      values: [{ status: 'added', old: null, new: { path: 'src/feature.ts' } }],
    });
    aws.server.route('POST', `${repo}/commit/${head}/statuses/build`, 201, {});
    expect(await deliver(cloud('pullrequest:created', CLOUD_PULL_REQUEST))).toEqual({
      Build: 'PENDING',
      Docs: 'SKIPPED',
      Lint: 'PENDING',
    });
    expect(sent()).toContain(`GET ${repo}/diffstat/${head}..${base}?topic=true`);
  });

  it('runs every step, and says why, when the host cannot list the changes', async () => {
    aws.server.route('GET', `${repo}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`, 200, PIPELINES);
    aws.server.route('GET', `${repo}/diffstat/${PUSH_COMMIT}`, 500, { error: 'down' });
    expect(await deliver(cloud('repo:push', CLOUD_PUSH))).toEqual({
      Build: 'PENDING',
      Docs: 'PENDING',
      Always: 'PENDING',
    });
    expect(warnings).toContain(
      `could not list the files changed by commit ${PUSH_COMMIT.slice(0, 12)}: every step with a changeset condition runs (team_name/repo_name, branch name-of-branch)`,
    );
  });

  it('asks nothing more when the file has no changeset condition', async () => {
    aws.server.route(
      'GET',
      `${repo}/src/${PUSH_COMMIT}/bitbucket-pipelines.yml`,
      200,
      'pipelines:\n  default:\n    - step:\n        script: [make]\n',
    );
    await deliver(cloud('repo:push', CLOUD_PUSH));
    expect(sent().filter((request) => request.includes('diffstat'))).toEqual([]);
  });
});

describe('GitHub', () => {
  beforeEach(() => {
    hostConfig = (url) => ({ kind: 'github', token: 'ghp', apiUrl: url });
  });
  const octokit = createRequire(import.meta.url)('@octokit/webhooks-examples') as {
    name: string;
    examples: Record<string, unknown>[];
  }[];
  /** GitHub's example push of master: one new commit that adds README.md. */
  const push = octokit
    .find((definition) => definition.name === 'push')!
    .examples.find((example) => example.ref === 'refs/heads/master') as {
    after: string;
    head_commit: { added: string[]; modified: string[]; removed: string[] };
  };
  const repo = '/repos/Codertocat/Hello-World';
  const gh = (payload: unknown) =>
    delivery(
      { 'x-github-event': 'push', 'x-github-delivery': `changes-${++counter}` },
      JSON.stringify(payload),
    );

  it("a push's own file lists decide, without asking the API", async () => {
    expect(push.head_commit.added).toEqual(['README.md']);
    aws.server.route('GET', `${repo}/contents/bitbucket-pipelines.yml?ref=${push.after}`, 200, PIPELINES);
    aws.server.route('POST', `${repo}/statuses/${push.after}`, 201, {});
    expect(await deliver(gh(push))).toEqual({ Build: 'SKIPPED', Docs: 'SKIPPED', Always: 'PENDING' });
    expect(sent()).toEqual([
      `GET ${repo}/contents/bitbucket-pipelines.yml?ref=${push.after}`,
      `POST ${repo}/statuses/${push.after}`,
    ]);
  });

  it('asks for the head commit when the push lists no files', async () => {
    const bare = { ...push, head_commit: { ...push.head_commit, added: [], modified: [], removed: [] } };
    aws.server.route('GET', `${repo}/contents/bitbucket-pipelines.yml?ref=${push.after}`, 200, PIPELINES);
    aws.server.route('GET', `${repo}/commits/${push.after}`, 200, {
      sha: push.after,
      files: [{ filename: 'src/main.ts', status: 'modified' }],
    });
    aws.server.route('POST', `${repo}/statuses/${push.after}`, 201, {});
    expect(await deliver(gh(bare))).toEqual({ Build: 'PENDING', Docs: 'SKIPPED', Always: 'PENDING' });
    expect(sent()).toEqual([
      `GET ${repo}/contents/bitbucket-pipelines.yml?ref=${push.after}`,
      `GET ${repo}/commits/${push.after}`,
      `POST ${repo}/statuses/${push.after}`,
    ]);
  });
});

describe('Bitbucket Data Center', () => {
  beforeEach(() => {
    hostConfig = (url) => ({ kind: 'bitbucket-data-center', baseUrl: url, token: 'bbdc' });
  });
  const repository = { slug: 'repository', project: { key: 'PROJ' } };
  const api = '/rest/api/latest/projects/PROJ/repos/repository';
  const dc = (event: string, payload: unknown) =>
    delivery({ 'x-event-key': event, 'x-request-id': `changes-${++counter}` }, JSON.stringify(payload));

  it("a branch update counts its head commit's changes", async () => {
    const head = '178864a7d521b6f5e720b386b2c2b0ef8563e0dc';
    aws.server.route('GET', `${api}/raw/bitbucket-pipelines.yml?at=${head}`, 200, PIPELINES);
    aws.server.route('GET', `${api}/commits/${head}/changes?limit=1000`, 200, {
      values: [{ path: { toString: 'docs/a.md' }, type: 'MODIFY' }],
      isLastPage: true,
    });
    aws.server.route('POST', `${api}/commits/${head}/builds`, 204, '');
    const payload = {
      actor: { name: 'admin' },
      repository,
      changes: [
        {
          ref: { id: 'refs/heads/develop', displayId: 'develop', type: 'BRANCH' },
          fromHash: 'ecddabb624f6f5ba43816f5926e580a5f680a932',
          toHash: head,
          type: 'UPDATE',
        },
      ],
    };
    expect(await deliver(dc('repo:refs_changed', payload))).toEqual({
      Build: 'SKIPPED',
      Docs: 'PENDING',
      Always: 'PENDING',
    });
    expect(sent()).toEqual([
      `GET ${api}/raw/bitbucket-pipelines.yml?at=${head}`,
      `GET ${api}/commits/${head}/changes?limit=1000`,
      `POST ${api}/commits/${head}/builds`,
    ]);
  });

  it("a pull request compares its source with the destination's commit", async () => {
    const ref = (name: string, commit: string) => ({ displayId: name, latestCommit: commit, repository });
    aws.server.route('GET', `${api}/raw/bitbucket-pipelines.yml?at=abc`, 200, PIPELINES);
    aws.server.route('GET', `${api}/compare/changes?from=abc&to=def&limit=1000`, 200, {
      values: [{ path: { toString: 'src/x.ts' }, type: 'ADD' }],
      isLastPage: true,
    });
    aws.server.route('POST', `${api}/commits/abc/builds`, 204, '');
    const opened = {
      actor: { name: 'jcitizen' },
      pullRequest: { id: 2, fromRef: ref('develop', 'abc'), toRef: ref('main', 'def') },
    };
    expect(await deliver(dc('pr:opened', opened))).toEqual({
      Build: 'PENDING',
      Docs: 'SKIPPED',
      Lint: 'PENDING',
    });
    expect(sent()).toContain(`GET ${api}/compare/changes?from=abc&to=def&limit=1000`);
  });
});
