// Crashes as users meet them, with the real CLI and its real background server: the server killed
// with -9 (or stopped) during a step, during an after-script, during the final step; the client
// killed, or frozen while the server dies. In every case the final step runs exactly once, what was
// running is stopped gracefully rather than killed, the run's record says what happened, the locks
// are free afterwards and no process of any step is left. The rule (README, "When the server goes
// away"): a run its engine could not see through ends ERROR, whatever its steps did.

import { afterEach, describe, expect, it } from 'vitest';
import { marker, markerLines, type Sandbox, sandbox, until } from '../local/harness';
import { leftAlive, stepProcessesIn } from '../support/processes';
import { finale, launch, serverInfo, stopServer } from './support';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map(stopServer));
});

function repo(yaml: string): Sandbox {
  const box = sandbox(yaml);
  roots.push(box.root);
  return box;
}

const env = (box: Sandbox) => ({ MARKERS: box.markers });

/** The step's tool is a child of its shell, as Terraform is: it traps the stop signal and cleans up. */
const DEPLOY = `pipelines:
  default:
    - step:
        name: Deploy
        deployment: production
        script:
          - sh -c 'trap "echo cleaned >> \\"$MARKERS/order\\"; exit 1" TERM; echo started >> "$MARKERS/order"; while :; do sleep 0.1; done'
        after-script:
          - echo "after $BITBUCKET_EXIT_CODE" >> "$MARKERS/order"
    - final:
        name: Cleanup
        script:
          - echo final >> "$MARKERS/order"
`;

async function show(box: Sandbox, build = 1) {
  const result = await finale(['show', String(build), '--json'], box.root, env(box));
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

async function locksAreFree(box: Sandbox): Promise<boolean> {
  const locks = JSON.parse((await finale(['locks', '--json'], box.root, env(box))).stdout) as {
    holder?: unknown;
    waiters: unknown[];
  }[];
  return locks.every((lock) => !lock.holder && lock.waiters.length === 0);
}

/** Waits for the marker file `order` to hold `line`. */
const reaches = (box: Sandbox, line: string) =>
  until(`"${line}" in the order file`, async () => markerLines(box, 'order').includes(line), 30_000);

describe('the server goes away during a run', () => {
  it('kill -9 during a step: the client follows to the end, the step is stopped gracefully, the final step runs once, ERROR', async () => {
    const box = repo(DEPLOY);
    const client = launch(['run'], box.root, env(box));
    await reaches(box, 'started');
    const server = serverInfo(box.root);
    process.kill(server.pid, 'SIGKILL');

    const result = await client.result;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout, result.stderr).toMatch(/Run #1 ERROR: The engine running it went away/);
    expect(serverInfo(box.root).pid).not.toBe(server.pid);
    // The new server stopped the step as a stop would: its tool cleaned up, then its after-script.
    expect(markerLines(box, 'order')).toEqual(['started', 'cleaned', 'after 143', 'final']);
    const run = await show(box);
    expect(run.status).toBe('ERROR');
    expect(run.reason).toBe('orphaned');
    expect(run.steps.map((step: { status: string }) => step.status)).toEqual(['ERROR', 'SUCCESSFUL']);
    expect(run.notes.join('\n')).toMatch(/went away during "Deploy"/);
    expect(run.notes.join('\n')).toMatch(
      /"Deploy" was still running when its engine went away: it was stopped gracefully/,
    );
    expect(await locksAreFree(box)).toBe(true);
    expect(await leftAlive(() => stepProcessesIn(box.root))).toEqual([]);
  }, 60_000);

  it('kill -9 during an after-script: it runs to its end before the final step starts', async () => {
    const box = repo(
      DEPLOY.replace(
        /script:\n {10}- sh -c .*\n/,
        'script:\n          - echo started >> "$MARKERS/order"\n',
      ).replace(
        '- echo "after $BITBUCKET_EXIT_CODE" >> "$MARKERS/order"',
        '- echo "after started" >> "$MARKERS/order"\n          - sleep 2\n          - echo "after done" >> "$MARKERS/order"',
      ),
    );
    const client = launch(['run'], box.root, env(box));
    await reaches(box, 'after started');
    process.kill(serverInfo(box.root).pid, 'SIGKILL');
    const result = await client.result;
    expect(result.code, result.stderr).toBe(1);
    expect(markerLines(box, 'order')).toEqual(['started', 'after started', 'after done', 'final']);
    expect(await locksAreFree(box)).toBe(true);
    expect(await leftAlive(() => stepProcessesIn(box.root))).toEqual([]);
  }, 60_000);

  it('kill -9 during the final step: it is awaited, never run twice, and its log reaches the client', async () => {
    const box = repo(
      DEPLOY.replace(
        /script:\n {10}- sh -c .*\n/,
        'script:\n          - echo started >> "$MARKERS/order"\n',
      ).replace(
        '          - echo final >> "$MARKERS/order"',
        '          - echo "final started" >> "$MARKERS/order"\n          - sleep 8\n          - echo "final log line"\n          - echo "final done" >> "$MARKERS/order"',
      ),
    );
    const client = launch(['run'], box.root, env(box));
    await reaches(box, 'final started');
    process.kill(serverInfo(box.root).pid, 'SIGKILL');
    const result = await client.result;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('[Final Step] Cleanup | final log line');
    expect(markerLines(box, 'order')).toEqual(['started', 'after 0', 'final started', 'final done']);
    const run = await show(box);
    expect(run.status).toBe('ERROR');
    expect(run.steps.map((step: { status: string }) => step.status)).toEqual(['SUCCESSFUL', 'SUCCESSFUL']);
    expect(run.steps[1].attempts).toBe(1);
    expect(run.notes.join('\n')).toMatch(
      /"Cleanup" was still running when its engine went away; it is awaited/,
    );
    expect(await locksAreFree(box)).toBe(true);
    expect(await leftAlive(() => stepProcessesIn(box.root))).toEqual([]);
  }, 60_000);

  it('stopping the server (SIGTERM) hands the run over: the next server takes it at once', async () => {
    const box = repo(DEPLOY);
    const client = launch(['run'], box.root, env(box));
    await reaches(box, 'started');
    process.kill(serverInfo(box.root).pid, 'SIGTERM');
    const result = await client.result;
    expect(result.code, result.stderr).toBe(1);
    expect(markerLines(box, 'order')).toEqual(['started', 'cleaned', 'after 143', 'final']);
    expect((await show(box)).reason).toBe('orphaned');
    expect(await leftAlive(() => stepProcessesIn(box.root))).toEqual([]);
  }, 60_000);
});

describe('the client goes away', () => {
  it('kill -9 of `finale run`: the run goes on to its end without it', async () => {
    const box = repo(
      DEPLOY.replace(
        /script:\n {10}- sh -c .*\n/,
        'script:\n          - echo started >> "$MARKERS/order"\n          - sleep 1\n',
      ),
    );
    const client = launch(['run'], box.root, env(box));
    await reaches(box, 'started');
    client.child.kill('SIGKILL');
    await client.result;
    await reaches(box, 'final');
    const run = await until('the run to end', async () => {
      const current = await show(box);
      return current.status !== 'RUNNING' && current;
    });
    expect(run.status).toBe('SUCCESSFUL');
    expect(markerLines(box, 'order')).toEqual(['started', 'after 0', 'final']);
  }, 60_000);

  it('a client that finds its server gone after the run ended reconnects and exits with the run’s status', async () => {
    const box = repo(
      DEPLOY.replace(/script:\n {10}- sh -c .*\n/, 'script:\n          - echo started >> "$MARKERS/order"\n'),
    );
    const client = launch(['run'], box.root, env(box));
    await reaches(box, 'started');
    // Frozen, it misses the end of the run; then the server dies before it looks again.
    client.child.kill('SIGSTOP');
    await marker(box, 'order');
    await until('the run to end', async () => (await show(box)).status === 'SUCCESSFUL');
    process.kill(serverInfo(box.root).pid, 'SIGKILL');
    client.child.kill('SIGCONT');
    const result = await client.result;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Run #1 SUCCESSFUL/);
  }, 60_000);
});
