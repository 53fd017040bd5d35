// `finale run` and the commands around it, as a user runs them: real processes, the background
// server found through .finale/server.json, exit codes, Ctrl+C.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { marker, markerLines, type Sandbox, sandbox, until } from '../local/harness';
import { BIN, finale, launch, serverInfo, stopServer } from './support';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map(stopServer));
});

function repo(yaml: string, options: { ignoreFinale?: boolean } = {}): Sandbox {
  const box = sandbox(yaml, {}, options);
  roots.push(box.root);
  return box;
}

const env = (box: Sandbox) => ({ MARKERS: box.markers });

const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "building $BITBUCKET_BUILD_NUMBER"
    - step:
        name: Long
        script:
          - trap 'echo TERM >> "$MARKERS/signals"; exit 143' TERM
          - trap 'echo INT >> "$MARKERS/signals"; exit 130' INT
          - echo started >> "$MARKERS/started"
          - while [ ! -e "$MARKERS/release" ]; do sleep 0.05; done
        after-script:
          - echo "$BITBUCKET_EXIT_CODE" >> "$MARKERS/after"
    - final:
        name: Cleanup
        script:
          - echo final >> "$MARKERS/final"
  custom:
    broken:
      - step:
          name: Broken
          script:
            - exit 4
`;

describe('finale run', () => {
  it('runs the pipeline, prints progress and logs, and exits 0; --json gives the summary', async () => {
    const box = repo(
      PIPELINE.replace('while [ ! -e "$MARKERS/release" ]; do sleep 0.05; done', 'echo quick'),
    );
    const plain = await finale(['run'], box.root, env(box));
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('Run #1 of default (3 steps)');
    expect(plain.stdout).toContain('Build | building 1');
    expect(plain.stdout).toMatch(/✔ \[Final Step\] Cleanup succeeded/);
    expect(plain.stdout).toMatch(/Run #1 SUCCESSFUL: All steps succeeded/);

    const json = await finale(['run', '--json'], box.root, env(box));
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout);
    expect(summary).toMatchObject({ buildNumber: 2, status: 'SUCCESSFUL', pipeline: 'default' });
    expect(summary.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(
      summary.steps.map((s: { name: string; status: string; exitCode: number; final: boolean }) => [
        s.name,
        s.status,
        s.exitCode,
        s.final,
      ]),
    ).toEqual([
      ['Build', 'SUCCESSFUL', 0, false],
      ['Long', 'SUCCESSFUL', 0, false],
      ['Cleanup', 'SUCCESSFUL', 0, true],
    ]);
    for (const step of summary.steps) {
      expect(Date.parse(step.startedAt)).toBeGreaterThan(0);
      expect(step.durationMs).toBeGreaterThanOrEqual(0);
    }
    // .finale/ is created on first use, ignored by git, and holds a private token.
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: box.root, encoding: 'utf8' })).toBe('');
    expect(statSync(join(box.root, '.finale', 'token')).mode & 0o777).toBe(0o600);
  });

  it('exits 1 when the pipeline fails, and 2 for an invalid file or usage', async () => {
    const box = repo(PIPELINE);
    const failed = await finale(['run', 'custom:broken'], box.root, env(box));
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/Broken failed with exit code 4/);
    expect(failed.stdout).toMatch(/Run #1 FAILED/);

    const invalid = repo('pipelines:\n  default:\n    - step:\n        name: No script\n');
    const result = await finale(['run'], invalid.root);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'bitbucket-pipelines.yml:3:7: this step has no `script`; every step needs one',
    );

    expect((await finale(['run', '--var', 'novalue'], box.root)).code).toBe(2);
    expect((await finale(['run', 'branches:nope'], box.root)).code).toBe(2);
  });

  it('Ctrl+C asks for a graceful stop: one signal, the after-script and the final step run, exit 130', async () => {
    const box = repo(PIPELINE);
    const run = launch(['run'], box.root, env(box));
    await marker(box, 'started');
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('Stopping the run gracefully');
    expect(markerLines(box, 'signals')).toEqual(['TERM']);
    expect(markerLines(box, 'after')).toEqual(['143']);
    expect(markerLines(box, 'final')).toEqual(['final']);
    expect(result.stdout).toMatch(/Run #1 STOPPED/);
  });

  it('a second Ctrl+C asks for an immediate stop', async () => {
    const box = repo(PIPELINE.replace(`exit 143' TERM`, `' TERM`).replace('sleep 0.05', 'sleep 0.05 || :'));
    execFileSync(
      process.execPath,
      [join(import.meta.dirname, '../../bin/finale.js'), 'settings', 'stop-timeout', '30'],
      {
        cwd: box.root,
        env: { ...process.env, FINALE_USER: 'alice@example.com' },
      },
    );
    const run = launch(['run'], box.root, env(box));
    await marker(box, 'started');
    run.child.kill('SIGINT');
    await until('the graceful stop', async () => markerLines(box, 'signals').length === 1);
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('Stopping the run immediately');
    // The script ignored the one TERM; the immediate stop killed it well before the 30 s grace.
    expect(markerLines(box, 'signals')).toEqual(['TERM']);
    expect(markerLines(box, 'after')).toEqual([]);
    expect(markerLines(box, 'final')).toEqual(['final']);
  });
});

describe('the commands around a run', () => {
  it('stop exits 0 when accepted, 3 when the policy refuses, 4 for an unknown or finished run', async () => {
    const box = repo(PIPELINE);
    const run = launch(['run'], box.root, env(box));
    await marker(box, 'started');
    const admin = { FINALE_USER: 'bob@example.com' };
    expect((await finale(['settings', 'admins', 'bob@example.com'], box.root, admin)).code).toBe(0);
    expect((await finale(['settings', 'stop-policy', 'admins'], box.root, admin)).code).toBe(0);

    const refused = await finale(['stop', '1'], box.root);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('bob@example.com');
    expect((await finale(['stop', '99'], box.root)).code).toBe(4);

    const accepted = await finale(['stop', '1', '--reason', 'enough'], box.root, admin);
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toMatch(/Run #1 is STOPPING \(graceful stop/);
    expect((await run.result).code).toBe(130);
    expect((await finale(['stop', '1'], box.root, admin)).code).toBe(4);

    const show = JSON.parse((await finale(['show', '1', '--json'], box.root)).stdout);
    expect(show).toMatchObject({
      status: 'STOPPED',
      stop: { by: 'bob@example.com', mode: 'graceful', reason: 'enough' },
    });
    const runs = JSON.parse((await finale(['runs', '--json'], box.root)).stdout);
    expect(runs.map((r: { buildNumber: number; status: string }) => [r.buildNumber, r.status])).toEqual([
      [1, 'STOPPED'],
    ]);
    const logs = await finale(['logs', '1', 'Long'], box.root);
    expect(logs.stdout).toContain('+ echo started >> "$MARKERS/started"');
    expect((await finale(['settings', 'stop-timeout', '5'], box.root)).code).toBe(3);
    expect((await finale(['settings', 'stop-timeout', 'soon'], box.root, admin)).code).toBe(2);
    expect((await finale(['settings', 'nonsense'], box.root)).code).toBe(2);
  });

  it('approve resumes a paused run; locks lists the deployment lock; the tables are real DynamoDB tables', async () => {
    const box = repo(`pipelines:
  default:
    - step:
        name: Build
        script: [echo build]
    - step:
        name: Deploy
        trigger: manual
        deployment: production
        script:
          - echo "deploying $BITBUCKET_DEPLOYMENT_ENVIRONMENT" >> "$MARKERS/deploy"
`);
    const run = launch(['run'], box.root, env(box));
    let last = '';
    await until('the run to pause', async () => {
      const show = await finale(['show', '1', '--json'], box.root);
      last = `show: ${show.code} ${show.stdout} ${show.stderr}\nrun: ${run.stdout()} ${run.stderr()}`;
      return show.code === 0 && JSON.parse(show.stdout).status === 'PAUSED';
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${last}`);
    });
    expect((await finale(['approve', '1'], box.root)).code).toBe(0);
    expect((await run.result).code).toBe(0);
    expect(markerLines(box, 'deploy')).toEqual(['deploying production']);
    const locks = JSON.parse((await finale(['locks', '--json'], box.root)).stdout);
    expect(locks).toEqual([expect.objectContaining({ key: 'deployment:production', waiters: [] })]);
    expect(locks[0].holder).toBeUndefined();

    // A standard DynamoDB client reads the embedded tables over the server's port, signed as
    // against AWS.
    const { dynamodb } = serverInfo(box.root);
    const client = new DynamoDBClient({
      endpoint: dynamodb,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const { Items: items } = await client.send(new ScanCommand({ TableName: 'finale-runs' }));
    client.destroy();
    expect(items).toHaveLength(1);
    expect(items?.[0]?.status).toEqual({ S: 'SUCCESSFUL' });
    expect(items?.[0]?.buildNumber).toEqual({ N: '1' });
    expect(existsSync(join(box.root, '.finale', 'db'))).toBe(true);
  });
});

describe('on a terminal', () => {
  const QUICK = `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo built
    - final:
        name: Cleanup
        script:
          - echo cleaned
`;
  // util-linux `script` gives the CLI a pseudo-terminal of 40 × 120, as a user's shell would.
  const onTty = (box: Sandbox, env: Record<string, string>) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const command = `stty rows 40 cols 120; ${process.execPath} ${BIN} run`;
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        cwd: box.root,
        env: { ...process.env, FINALE_USER: 'alice@example.com', NO_COLOR: '', ...env },
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      child.on('close', (code) => resolve({ code, output }));
    });

  it('shows a live step list with colour, and no colour with NO_COLOR', async () => {
    const box = repo(QUICK);
    const live = await onTty(box, {});
    expect(live.code).toBe(0);
    // The step list is redrawn in place (log-update erases lines) and ends with every step done.
    expect(live.output).toContain('\u001b[2K');
    const text = live.output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(text).toMatch(/Build +SUCCESSFUL/);
    expect(text).toMatch(/\[Final Step\] Cleanup\s+SUCCESSFUL/);
    expect(text).toContain('Build | built');
    expect(live.output).toMatch(/\u001b\[3[0-9]m/);

    const plain = await onTty(box, { NO_COLOR: '1' });
    expect(plain.code).toBe(0);
    expect(plain.output).toMatch(/Run #2 SUCCESSFUL/);
    expect(plain.output).not.toMatch(/\u001b\[(1|2|3[0-9]|9[0-9])m/);
  });
});

describe('finale logs --follow', () => {
  it("prints a running step's log as it is written, and ends with the run", async () => {
    const box = repo(PIPELINE);
    const run = launch(['run'], box.root, env(box));
    await marker(box, 'started');
    const follow = launch(['logs', '1', 'Long', '--follow'], box.root, env(box));
    await until('the follower to print the log so far', async () =>
      follow.stdout().includes('+ echo started'),
    );
    expect(follow.stdout()).not.toContain('+ echo "$BITBUCKET_EXIT_CODE"');
    writeFileSync(join(box.markers, 'release'), '');
    const followed = await follow.result;
    expect(followed.code).toBe(0);
    // The after-script's line was written after the follower started, and still reached it.
    expect(followed.stdout).toContain('+ echo "$BITBUCKET_EXIT_CODE" >> "$MARKERS/after"');
    expect((await run.result).code).toBe(0);
  });
});
