import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHost, parseHostConfig, statusKey } from '../../repository-hosts/index';
import { type FakeHttp, startFakeHttp } from './fake-http';

let server: FakeHttp;
beforeAll(async () => {
  server = await startFakeHttp();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const status = {
  key: statusKey('branches:main'),
  name: 'Finale branches:main',
  state: 'STOPPED' as const,
  url: 'https://example.test/run',
  description: '#3 stopped',
};

describe('Bitbucket Cloud', () => {
  const host = () => createHost({ kind: 'bitbucket-cloud', token: 'tok', apiUrl: `${server.url}/2.0` });

  it('reads the file at the commit with the bearer token, and says when it is missing', async () => {
    server.route(
      'GET',
      '/2.0/repositories/team/app/src/abc123/bitbucket-pipelines.yml',
      200,
      'pipelines: {}\n',
    );
    expect(await host().readFile('team/app', 'abc123', 'bitbucket-pipelines.yml')).toBe('pipelines: {}\n');
    expect(server.requests[0]!.headers.authorization).toBe('Bearer tok');
    expect(await host().readFile('team/app', 'def456', 'bitbucket-pipelines.yml')).toBeUndefined();
  });

  it('finds the main branch head', async () => {
    server.route('GET', '/2.0/repositories/team/app', 200, { mainbranch: { name: 'main' } });
    server.route('GET', '/2.0/repositories/team/app/refs/branches/main', 200, { target: { hash: 'c0ffee' } });
    server.route('GET', '/2.0/repositories/team/app/refs/branches/feature%2Fx', 200, {
      target: { hash: 'beef' },
    });
    expect(await host().branchHead('team/app')).toEqual({ branch: 'main', commit: 'c0ffee' });
    expect(await host().branchHead('team/app', 'feature/x')).toEqual({ branch: 'feature/x', commit: 'beef' });
  });

  it('posts a build status', async () => {
    server.route('POST', '/2.0/repositories/team/app/commit/abc123/statuses/build', 201, {});
    await host().reportStatus('team/app', 'abc123', status);
    expect(server.requests[0]!.method).toBe('POST');
    expect(JSON.parse(server.requests[0]!.body)).toEqual({
      key: status.key,
      state: 'STOPPED',
      name: 'Finale branches:main',
      url: 'https://example.test/run',
      description: '#3 stopped',
    });
    expect(status.key.length).toBeLessThanOrEqual(40);
  });

  it('clones as x-token-auth, credentials in a header only', () => {
    const access = host().cloneAccess('team/app');
    expect(access.url).toBe('https://bitbucket.org/team/app.git');
    expect(access.headers.authorization).toBe(`Basic ${Buffer.from('x-token-auth:tok').toString('base64')}`);
  });

  it('names the host and the status when the host refuses', async () => {
    server.route('POST', '/2.0/repositories/team/app/commit/bad/statuses/build', 403, { error: 'no' });
    await expect(host().reportStatus('team/app', 'bad', status)).rejects.toThrow(
      /Bitbucket Cloud answered 403 to POST \/2\.0\/repositories\/team\/app\/commit\/bad\/statuses\/build/,
    );
  });
});

describe('Bitbucket Data Center', () => {
  const host = () =>
    createHost({ kind: 'bitbucket-data-center', baseUrl: server.url, username: 'ci', password: 'pw' });
  const repo = '/rest/api/latest/projects/PROJ/repos/app';

  it('reads raw files at a commit with basic auth', async () => {
    server.route('GET', `${repo}/raw/ci/bitbucket-pipelines.yml?at=abc`, 200, 'x: 1\n');
    expect(await host().readFile('PROJ/app', 'abc', 'ci/bitbucket-pipelines.yml')).toBe('x: 1\n');
    expect(server.requests[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from('ci:pw').toString('base64')}`,
    );
  });

  it('finds branch heads by exact name and the default branch', async () => {
    server.route('GET', `${repo}/branches?filterText=main&limit=100`, 200, {
      values: [
        { displayId: 'main-old', latestCommit: 'nope' },
        { displayId: 'main', latestCommit: 'aaa' },
      ],
    });
    server.route('GET', `${repo}/branches/default`, 200, { displayId: 'develop', latestCommit: 'bbb' });
    expect(await host().branchHead('PROJ/app', 'main')).toEqual({ branch: 'main', commit: 'aaa' });
    expect(await host().branchHead('PROJ/app')).toEqual({ branch: 'develop', commit: 'bbb' });
  });

  it('reports a stopped run as CANCELLED', async () => {
    server.route('POST', `${repo}/commits/abc/builds`, 204, '');
    await host().reportStatus('PROJ/app', 'abc', status);
    expect(JSON.parse(server.requests[0]!.body)).toMatchObject({ key: status.key, state: 'CANCELLED' });
  });

  it('clones from /scm with the lower-cased project', () => {
    expect(host().cloneAccess('PROJ/app').url).toBe(`${server.url}/scm/proj/app.git`);
  });
});

describe('GitHub', () => {
  const host = () => createHost({ kind: 'github', token: 'ghp_x', apiUrl: server.url });

  it('reads raw contents at a ref', async () => {
    server.route('GET', '/repos/octo/app/contents/bitbucket-pipelines.yml?ref=abc', 200, 'y: 2\n');
    expect(await host().readFile('octo/app', 'abc', 'bitbucket-pipelines.yml')).toBe('y: 2\n');
    expect(server.requests[0]!.headers.accept).toBe('application/vnd.github.raw+json');
    expect(server.requests[0]!.headers.authorization).toBe('Bearer ghp_x');
  });

  it('posts a commit status with a stable context', async () => {
    server.route('POST', '/repos/octo/app/statuses/abc', 201, {});
    await host().reportStatus('octo/app', 'abc', { ...status, state: 'INPROGRESS' });
    expect(JSON.parse(server.requests[0]!.body)).toEqual({
      state: 'pending',
      target_url: 'https://example.test/run',
      description: '#3 stopped',
      context: 'Finale branches:main',
    });
  });

  it('finds the default branch head', async () => {
    server.route('GET', '/repos/octo/app', 200, { default_branch: 'trunk' });
    server.route('GET', '/repos/octo/app/branches/trunk', 200, { commit: { sha: 'fff' } });
    expect(await host().branchHead('octo/app')).toEqual({ branch: 'trunk', commit: 'fff' });
  });
});

describe('the host secret', () => {
  it('names the field that is wrong, never the value', () => {
    expect(() => parseHostConfig('{"kind":"github"}')).toThrow('the host token secret is not valid: token:');
    expect(() => parseHostConfig('{"kind":"bitbucket-cloud","username":"u"}')).toThrow(
      /a token, or a username and password/,
    );
    expect(() => parseHostConfig('{"kind":"gitlab","token":"secret-value"}')).toThrow(/kind/);
    expect(() => parseHostConfig('{"kind":"gitlab","token":"secret-value"}')).not.toThrow(/secret-value/);
    expect(() => parseHostConfig('not json')).toThrow(/not JSON/);
  });

  it('accepts each host kind', () => {
    expect(parseHostConfig('{"kind":"bitbucket-cloud","token":"t"}').kind).toBe('bitbucket-cloud');
    expect(
      parseHostConfig('{"kind":"bitbucket-data-center","baseUrl":"https://bb.example.com","token":"t"}').kind,
    ).toBe('bitbucket-data-center');
  });
});
