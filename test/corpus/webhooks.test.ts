// The webhook Lambda with the real Bitbucket Cloud payloads collected in ../shared/corpus/webhooks
// (see its MANIFEST.tsv), signed with a test secret: each starts, or declines, what it should.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import type { HttpApiEvent } from '../../lambdas/http';
import { sign } from '../../lambdas/webhook/signature';
import { useAwsHarness, WEBHOOK_SECRET } from '../lambdas/harness';

const CORPUS = join(import.meta.dirname, '../../../shared/corpus/webhooks/bitbucket');
const payload = (file: string) => readFileSync(join(CORPUS, file), 'utf8');
const PIPELINES = `pipelines:
  default:
    - step:
        script: [make test]
  pull-requests:
    '**':
      - step:
          name: Lint
          script: [make lint]
`;

const aws = useAwsHarness((server) => ({ kind: 'bitbucket-cloud', token: 't', apiUrl: `${server.url}/2.0` }));
const handler = () => aws.webhook();

let id = 0;
function deliver(event: string, body: string): Promise<{ statusCode: number; body: string }> {
  const request: HttpApiEvent = {
    rawPath: '/webhooks/bitbucket-cloud',
    headers: {
      'content-type': 'application/json',
      'x-event-key': event,
      'x-request-uuid': `corpus-${++id}`,
      'x-hub-signature': sign(body, WEBHOOK_SECRET),
    },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path: '/webhooks/bitbucket-cloud' } },
  };
  return handler()(request) as Promise<{ statusCode: number; body: string }>;
}

describe('real Bitbucket Cloud webhook payloads', () => {
  it('repo:push starts the default pipeline at the pushed commit', async () => {
    const body = payload('go-playground-webhooks__repo-push.json');
    const { push } = JSON.parse(body) as {
      push: { changes: { new: { name: string; target: { hash: string } } }[] };
    };
    const change = push.changes[0]!.new;
    aws.server.route(
      'GET',
      `/2.0/repositories/team_name/repo_name/src/${change.target.hash}/bitbucket-pipelines.yml`,
      200,
      PIPELINES,
    );
    const result = await deliver('repo:push', body);
    expect(result.statusCode).toBe(201);
    const started = JSON.parse(result.body).started;
    expect(started).toEqual([
      expect.objectContaining({ pipeline: 'default', ref: change.name, commit: change.target.hash }),
    ]);
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('pullrequest:created from a slash branch starts the pull-requests pipeline', async () => {
    const body = payload('drone-go-scm__pullrequest-created-slash-branch.json');
    aws.server.route(
      'GET',
      '/2.0/repositories/brydzewski/foo/src/507a576e59b3/bitbucket-pipelines.yml',
      200,
      PIPELINES,
    );
    const result = await deliver('pullrequest:created', body);
    expect(result.statusCode).toBe(201);
    expect(JSON.parse(result.body).started).toEqual([
      expect.objectContaining({ pipeline: 'pull-requests:**', ref: 'feature/develop' }),
    ]);
  });

  it('pullrequest:created without a pipeline file at the commit starts nothing, and says why', async () => {
    const result = await deliver(
      'pullrequest:created',
      payload('go-playground-webhooks__pullrequest-created.json'),
    );
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body).reason).toBe(
      'branch2: no pipeline runs: team_name/repo_name has no bitbucket-pipelines.yml at d3022fc0ca3d',
    );
    expect(aws.sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});
