// The local server as a user meets it: one per repository however it is started, a clear word for
// every file it cannot use and outside a repository, and an idle server that goes and comes back.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../local/processes';
import { type Sandbox, sandbox, until } from '../local/harness';
import { finale, launch, serverInfo, stopServer } from './support';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map(stopServer));
});

const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo built
`;

function repo(): Sandbox {
  const box = sandbox(PIPELINE);
  roots.push(box.root);
  return box;
}

/** No stack trace, ever, for what a user did or found. */
function expectNoStack(text: string) {
  expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

describe('one server per repository', () => {
  it('`finale serve` while one runs says so, with its pid, and starts nothing', async () => {
    const box = repo();
    expect((await finale(['runs'], box.root)).code).toBe(0);
    const { pid, port } = serverInfo(box.root);
    const second = await finale(['serve'], box.root);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(
      `a local server for this repository is already running (pid ${pid}, 127.0.0.1:${port})`,
    );
    expectNoStack(second.stderr);
    expect(serverInfo(box.root).pid).toBe(pid);
  });

  it('two `finale serve` started at once: exactly one serves, the other says it is already running', async () => {
    const box = repo();
    const [a, b] = [launch(['serve'], box.root), launch(['serve'], box.root)];
    const first = await Promise.race([a.result, b.result]);
    expect(first.code).toBe(2);
    expect(first.stderr).toMatch(/a local server for this repository is already running/);
    const serving = a.child.exitCode === null ? a : b;
    await until('the other to serve', async () => serving.stdout().includes('Finale local server for'));
    expect(serverInfo(box.root).pid).toBe(serving.child.pid);
    serving.child.kill('SIGTERM');
    await serving.result;
  });
});

describe('clear errors', () => {
  it('a corrupt server.json is named, with the fix; no stack trace', async () => {
    const box = repo();
    mkdirSync(join(box.root, '.finale'));
    writeFileSync(join(box.root, '.finale', 'server.json'), '{"pid": 12, "po');
    const result = await finale(['runs'], box.root);
    expect(result.code).toBe(1);
    const file = join(box.root, '.finale', 'server.json');
    expect(result.stderr).toContain(`${file} is not a server description (corrupt or edited)`);
    expect(result.stderr).toContain(`rm ${file}`);
    expectNoStack(result.stderr);
  });

  it('a corrupt token file is named, with the fix', async () => {
    const box = repo();
    mkdirSync(join(box.root, '.finale'));
    writeFileSync(join(box.root, '.finale', 'token'), 'not a token\n');
    const result = await finale(['runs'], box.root);
    expect(result.code).toBe(1);
    const file = join(box.root, '.finale', 'token');
    expect(result.stderr).toContain(`${file} does not hold a Finale token`);
    expect(result.stderr).toContain(`rm ${file}`);
    expectNoStack(result.stderr);
  });

  it('outside a git repository: says so, creates nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finale-nogit-'));
    writeFileSync(join(dir, 'bitbucket-pipelines.yml'), PIPELINE);
    const result = await finale(['run'], dir, { GIT_CEILING_DIRECTORIES: tmpdir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${dir} is not inside a git repository`);
    expect(result.stderr).toContain('git init');
    expectNoStack(result.stderr);
    expect(existsSync(join(dir, '.finale'))).toBe(false);
  });
});

describe('an idle server', () => {
  it('stops after its idle time, says why in its log, and the next command starts another', async () => {
    const box = repo();
    const env = { FINALE_SERVER_IDLE_SECONDS: '1' };
    expect((await finale(['run'], box.root, env)).code).toBe(0);
    const { pid } = serverInfo(box.root);
    await until('the idle server to stop', async () => !isAlive(pid), 15_000);
    expect(existsSync(join(box.root, '.finale', 'server.json'))).toBe(false);
    expect(readFileSync(join(box.root, '.finale', 'server.log'), 'utf8')).toContain(
      'Finale local server stopped (idle for 1s)',
    );
    const again = await finale(['runs', '--json'], box.root);
    expect(again.code).toBe(0);
    expect(serverInfo(box.root).pid).not.toBe(pid);
  });

  it('rejects an idle time that is not a number of seconds', () => {
    const box = repo();
    const result = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '../../bin/finale.js'), 'serve', '--idle-timeout', 'soon'],
      {
        cwd: box.root,
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--idle-timeout: not a number of seconds: soon');
  });
});
