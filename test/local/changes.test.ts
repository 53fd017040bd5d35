// Changeset conditions on the embedded engine: a local run's changed files are what its snapshot commit
// (uncommitted changes included) brings since it left the branch's upstream. Real git: a repository
// in a temp dir with a bare "remote", and a second clone that pushes to it.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { changedSinceUpstream } from '../../local/changes';
import type { LocalHost } from '../../local/host';
import { snapshotWorkingTree } from '../../local/workspace';
import { closeHost, markerLines, openHost, sandbox, settle, start, stepsOf } from './harness';

const temporary: string[] = [];
let host: LocalHost | undefined;
afterEach(async () => {
  await closeHost(host);
  host = undefined;
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
};
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=test@example.com', '-c', 'user.name=Test', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .toString()
    .trim();
const write = (root: string, files: Record<string, string>) => {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
};
const commit = (root: string, files: Record<string, string>, message = 'change') => {
  write(root, files);
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', message);
};

/** A bare "remote" and a repository cloned from it, `main` tracking `origin/main`. */
function published(): { root: string; remote: string } {
  const remote = tempDir('finale-remote-');
  git(remote, 'init', '-q', '--bare', '-b', 'main');
  const root = tempDir('finale-changes-');
  git(root, 'init', '-q', '-b', 'main');
  commit(root, { 'src/a.ts': 'a\n', 'docs/guide.md': 'guide\n', 'README.md': 'readme\n' }, 'start');
  git(root, 'remote', 'add', 'origin', remote);
  git(root, 'push', '-q', '-u', 'origin', 'main');
  return { root, remote };
}

/** The run's commit, exactly as a local run takes it. */
async function snapshot(root: string) {
  return snapshotWorkingTree(root, join(tempDir('finale-source-'), 'source'));
}

describe('changedSinceUpstream', () => {
  it('is unknown without an upstream, and empty when nothing changed since it', async () => {
    const root = tempDir('finale-changes-');
    git(root, 'init', '-q', '-b', 'main');
    commit(root, { 'src/a.ts': 'a\n' });
    const alone = await snapshot(root);
    expect(await changedSinceUpstream(root, alone.commit, alone.branch)).toBeUndefined();

    const { root: tracked } = published();
    const clean = await snapshot(tracked);
    expect(clean.branch).toBe('main');
    expect(await changedSinceUpstream(tracked, clean.commit, clean.branch)).toEqual([]);
  });

  it('lists unpushed commits and uncommitted files, a move at both paths, not what the upstream gained', async () => {
    const { root, remote } = published();
    // Someone else pushes, and the upstream is fetched: their change is not this run's.
    const other = join(tempDir('finale-other-'), 'other');
    git(dirname(other), 'clone', '-q', remote, other);
    commit(other, { 'other/theirs.ts': 'theirs\n' });
    git(other, 'push', '-q', 'origin', 'main');
    git(root, 'fetch', '-q', 'origin');

    commit(root, { 'src/a.ts': 'a, changed\n' }, 'unpushed');
    mkdirSync(join(root, 'guide'));
    git(root, 'mv', 'docs/guide.md', 'guide/index.md');
    git(root, 'commit', '-qm', 'move');
    write(root, { 'src/b.ts': 'uncommitted, untracked\n', 'README.md': 'uncommitted edit\n' });

    const run = await snapshot(root);
    expect(((await changedSinceUpstream(root, run.commit, run.branch)) ?? []).slice().sort()).toEqual([
      'README.md',
      'docs/guide.md',
      'guide/index.md',
      'src/a.ts',
      'src/b.ts',
    ]);
  });

  it('is unknown on a detached HEAD', async () => {
    const { root } = published();
    git(root, 'checkout', '-q', '--detach');
    write(root, { 'src/a.ts': 'changed\n' });
    const run = await snapshot(root);
    expect(run.branch).toBeUndefined();
    expect(await changedSinceUpstream(root, run.commit, run.branch)).toBeUndefined();
  });
});

const CONDITIONAL = `pipelines:
  default:
    - step:
        name: Build
        condition:
          changesets:
            includePaths:
              - "src/**"
        script:
          - echo build >> "$MARKERS/ran"
    - step:
        name: Docs
        condition:
          changesets:
            includePaths:
              - "docs/**"
        script:
          - echo docs >> "$MARKERS/ran"
`;

describe('a local run', () => {
  it('skips the step whose paths the local changes miss, and runs every step without an upstream', async () => {
    const box = sandbox(CONDITIONAL, {});
    temporary.push(box.root);
    host = await openHost(box);
    const unknown = await settle(host, (await start(host)).runId);
    expect(stepsOf(unknown).map((step) => [step.name, step.status])).toEqual([
      ['Build', 'SUCCESSFUL'],
      ['Docs', 'SUCCESSFUL'],
    ]);

    const remote = tempDir('finale-remote-');
    git(remote, 'init', '-q', '--bare', '-b', 'main');
    git(box.root, 'remote', 'add', 'origin', remote);
    git(box.root, 'push', '-q', '-u', 'origin', 'main');
    write(box.root, { 'docs/guide.md': 'not committed yet\n' });
    rmSync(join(box.markers, 'ran'));
    const run = await settle(host, (await start(host)).runId);
    expect(stepsOf(run).map((step) => [step.name, step.status])).toEqual([
      ['Build', 'SKIPPED'],
      ['Docs', 'SUCCESSFUL'],
    ]);
    expect(markerLines(box, 'ran')).toEqual(['docs']);
  });
});
