// The files a change touched, from each host's API (a local fake of it): the exact requests, every page
// followed, renames counted at both paths, and a list too long to be complete reported as unknown.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_CHANGED_FILES } from '../../repository-hosts/changes';
import { createHost } from '../../repository-hosts/index';
import { type FakeHttp, startFakeHttp } from './fake-http';

let server: FakeHttp;
beforeAll(async () => {
  server = await startFakeHttp();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const sent = () => server.requests.map((request) => `${request.method} ${request.url}`);
const many = (count: number, make: (path: string) => unknown) =>
  Array.from({ length: count }, (_, index) => make(`src/file-${index}.ts`));

describe('Bitbucket Cloud: diffstat', () => {
  const host = () => createHost({ kind: 'bitbucket-cloud', token: 'tok', apiUrl: `${server.url}/2.0` });
  const repo = '/2.0/repositories/team/app';

  it('lists a commit against its first parent, following `next` to the last page', async () => {
    server.route('GET', `${repo}/diffstat/abc123`, 200, {
      pagelen: 2,
      values: [
        { status: 'modified', old: { path: 'src/a.ts' }, new: { path: 'src/a.ts' } },
        { status: 'renamed', old: { path: 'docs/guide.md' }, new: { path: 'guide/index.md' } },
      ],
      next: `${server.url}${repo}/diffstat/abc123?page=2`,
    });
    server.route('GET', `${repo}/diffstat/abc123?page=2`, 200, {
      pagelen: 2,
      values: [
        { status: 'added', old: null, new: { path: 'lib/new.ts' } },
        { status: 'removed', old: { path: 'old.txt' }, new: null },
      ],
    });
    expect(await host().changedFiles('team/app', 'abc123')).toEqual([
      'src/a.ts',
      'guide/index.md',
      'docs/guide.md',
      'lib/new.ts',
      'old.txt',
    ]);
    expect(sent()).toEqual([`GET ${repo}/diffstat/abc123`, `GET ${repo}/diffstat/abc123?page=2`]);
    expect(server.requests.every((request) => request.headers.authorization === 'Bearer tok')).toBe(true);
  });

  it('lists a pull request as its source against the merge base with the destination', async () => {
    server.route('GET', `${repo}/diffstat/abc123..def456?topic=true`, 200, {
      values: [{ status: 'modified', old: { path: 'src/a.ts' }, new: { path: 'src/a.ts' } }],
    });
    expect(await host().changedFiles('team/app', 'abc123', 'def456')).toEqual(['src/a.ts']);
    expect(sent()).toEqual([`GET ${repo}/diffstat/abc123..def456?topic=true`]);
  });

  it(`says unknown from ${MAX_CHANGED_FILES} files on, and stops asking`, async () => {
    server.route('GET', `${repo}/diffstat/big`, 200, {
      values: many(MAX_CHANGED_FILES, (path) => ({ old: { path }, new: { path } })),
      next: `${server.url}${repo}/diffstat/big?page=2`,
    });
    expect(await host().changedFiles('team/app', 'big')).toBeUndefined();
    expect(sent()).toEqual([`GET ${repo}/diffstat/big`]);
  });

  it('refuses a next page on another origin, and names an API error', async () => {
    server.route('GET', `${repo}/diffstat/away`, 200, {
      values: [],
      next: 'https://elsewhere.example/steal?page=2',
    });
    await expect(host().changedFiles('team/app', 'away')).rejects.toThrow(/another origin/);
    await expect(host().changedFiles('team/app', 'nope')).rejects.toThrow(
      /Bitbucket Cloud answered 404 to GET \/2\.0\/repositories\/team\/app\/diffstat\/nope/,
    );
  });
});

describe('Bitbucket Data Center: changes and compare', () => {
  const host = () => createHost({ kind: 'bitbucket-data-center', baseUrl: server.url, token: 'tok' });
  const repo = '/rest/api/latest/projects/PROJ/repos/app';

  it("lists a commit's changes page by page, with a move's source path", async () => {
    server.route('GET', `${repo}/commits/abc/changes?limit=1000`, 200, {
      values: [
        { path: { toString: 'src/a.ts' }, type: 'MODIFY' },
        { path: { toString: 'guide/index.md' }, srcPath: { toString: 'docs/guide.md' }, type: 'MOVE' },
      ],
      size: 2,
      isLastPage: false,
      start: 0,
      limit: 2,
      nextPageStart: 2,
    });
    server.route('GET', `${repo}/commits/abc/changes?limit=1000&start=2`, 200, {
      values: [{ path: { toString: 'old.txt' }, type: 'DELETE' }],
      size: 1,
      isLastPage: true,
      start: 2,
    });
    expect(await host().changedFiles('PROJ/app', 'abc')).toEqual([
      'src/a.ts',
      'guide/index.md',
      'docs/guide.md',
      'old.txt',
    ]);
    expect(sent()).toEqual([
      `GET ${repo}/commits/abc/changes?limit=1000`,
      `GET ${repo}/commits/abc/changes?limit=1000&start=2`,
    ]);
    expect(server.requests[0]!.headers.authorization).toBe('Bearer tok');
  });

  it('compares a pull request source with its destination branch', async () => {
    server.route('GET', `${repo}/compare/changes?from=abc&to=release%2F1.0&limit=1000`, 200, {
      values: [{ path: { toString: 'src/a.ts' }, type: 'ADD' }],
      isLastPage: true,
    });
    expect(await host().changedFiles('PROJ/app', 'abc', 'release/1.0')).toEqual(['src/a.ts']);
    expect(sent()).toEqual([`GET ${repo}/compare/changes?from=abc&to=release%2F1.0&limit=1000`]);
  });
});

describe('GitHub: a commit, or a comparison', () => {
  const host = () => createHost({ kind: 'github', token: 'ghp_x', apiUrl: server.url });

  it("lists a commit's files, following the Link header's next page", async () => {
    const next = `${server.url}/repositories/42/commits/abc?page=2`;
    server.route(
      'GET',
      '/repos/octo/app/commits/abc',
      200,
      { sha: 'abc', files: [{ filename: 'src/a.ts', status: 'modified' }] },
      { link: `<${next}>; rel="next", <${next}>; rel="last"` },
    );
    server.route(
      'GET',
      '/repositories/42/commits/abc?page=2',
      200,
      { sha: 'abc', files: [{ filename: 'guide/index.md', previous_filename: 'docs/guide.md' }] },
      { link: `<${server.url}/repositories/42/commits/abc?page=1>; rel="prev"` },
    );
    expect(await host().changedFiles('octo/app', 'abc')).toEqual([
      'src/a.ts',
      'guide/index.md',
      'docs/guide.md',
    ]);
    expect(sent()).toEqual(['GET /repos/octo/app/commits/abc', 'GET /repositories/42/commits/abc?page=2']);
    expect(server.requests[1]!.headers.authorization).toBe('Bearer ghp_x');
  });

  it('compares base...head (the merge base), and says unknown at 300 files', async () => {
    server.route('GET', '/repos/octo/app/compare/base1...head1', 200, {
      status: 'ahead',
      files: [{ filename: 'src/a.ts' }, { filename: 'README.md' }],
    });
    expect(await host().changedFiles('octo/app', 'head1', 'base1')).toEqual(['src/a.ts', 'README.md']);
    server.route('GET', '/repos/octo/app/compare/base1...huge', 200, {
      files: many(300, (filename) => ({ filename })),
    });
    expect(await host().changedFiles('octo/app', 'huge', 'base1')).toBeUndefined();
    expect(sent()).toEqual([
      'GET /repos/octo/app/compare/base1...head1',
      'GET /repos/octo/app/compare/base1...huge',
    ]);
  });
});
