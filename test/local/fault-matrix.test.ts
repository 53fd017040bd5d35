// The fault matrix of the embedded engine: each cell runs a real pipeline (supervisor processes, real
// signals, dynalite on disk, the compiled definition on aws-local-stepfunctions) and checks that the
// final step ran exactly once, the after-script ran where promised, every lock was released, the
// history says what happened, and the status is right.

import { afterEach, describe, expect, it } from 'vitest';
import { NotAllowedError } from '../../core/failures';
import type { LocalHost } from '../../local/host';
import {
  ALICE,
  BOB,
  closeHost,
  entered,
  history,
  locksAreFree,
  marker,
  markerLines,
  openHost,
  runOf,
  type Sandbox,
  sandbox,
  settle,
  start,
  stepsOf,
  until,
} from './harness';

const FINAL = '[Final Step] Cleanup';

/** Build → Work → Publish, then a final step; Work is given per test. */
function pipeline(
  work: { script: string[]; after?: string[]; extra?: string },
  final: string[] = ['echo final >> "$MARKERS/final"'],
) {
  const list = (items: string[]) => items.map((item) => `          - ${JSON.stringify(item)}`).join('\n');
  return `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo build >> "$MARKERS/build"
    - step:
        name: Work
${work.extra ?? ''}        script:
${list(work.script)}
        after-script:
${list(work.after ?? ['echo "$BITBUCKET_EXIT_CODE" >> "$MARKERS/work-after"'])}
    - step:
        name: Publish
        script:
          - echo publish >> "$MARKERS/publish"
    - final:
        name: Cleanup
        script:
${list(final)}
`;
}

const TRAP_AND_WAIT = [
  `trap 'echo TERM >> "$MARKERS/work-signals"; echo cleaned up >> "$MARKERS/work-cleanup"; exit 143' TERM`,
  'echo started >> "$MARKERS/work-started"',
  'while [ ! -e "$MARKERS/release-work" ]; do sleep 0.05; done',
];

let host: LocalHost | undefined;
afterEach(async () => {
  await closeHost(host);
  host = undefined;
});

async function open(
  yaml: string,
  options: { minuteSeconds?: number } = {},
): Promise<{ box: Sandbox; host: LocalHost }> {
  const box = sandbox(yaml);
  host = await openHost(box, options);
  await host.core.setSetting({ repository: host.repository, caller: BOB, key: 'stop-timeout', value: '1' });
  return { box, host };
}

function expectFinalOnce(box: Sandbox, runId: string) {
  expect(markerLines(box, 'final')).toEqual(['final']);
  expect(entered(history(box, runId), FINAL)).toBe(1);
}

function statuses(run: Awaited<ReturnType<typeof runOf>>) {
  return stepsOf(run).map((step) => step.status);
}

function lastEvent(box: Sandbox, runId: string) {
  return history(box, runId).at(-1);
}

describe('fault matrix', () => {
  it('1. the run passes', async () => {
    const { box, host } = await open(pipeline({ script: ['echo working >> "$MARKERS/work"'] }));
    const run = await settle(host, (await start(host)).runId);
    expect(run.status).toBe('SUCCESSFUL');
    expect(run.reason).toBe('succeeded');
    expect(statuses(run)).toEqual(['SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL']);
    expect(stepsOf(run).map((step) => step.exitCode)).toEqual([0, 0, 0, 0]);
    expect(markerLines(box, 'work-after')).toEqual(['0']);
    expectFinalOnce(box, run.runId);
    expect(await locksAreFree(host)).toBe(true);
    expect(lastEvent(box, run.runId)?.type).toBe('ExecutionSucceeded');
  });

  it('2. it fails at step k: later steps do not run, the final step does', async () => {
    const { box, host } = await open(pipeline({ script: ['echo failing', 'exit 3'] }));
    const run = await settle(host, (await start(host)).runId);
    expect(run.status).toBe('FAILED');
    expect(run.reason).toBe('stepFailed');
    expect(statuses(run)).toEqual(['SUCCESSFUL', 'FAILED', 'NOT_RUN', 'SUCCESSFUL']);
    expect(stepsOf(run)[1]?.exitCode).toBe(3);
    expect(markerLines(box, 'work-after')).toEqual(['3']);
    expect(markerLines(box, 'publish')).toEqual([]);
    expectFinalOnce(box, run.runId);
    expect(await locksAreFree(host)).toBe(true);
    expect(lastEvent(box, run.runId)).toMatchObject({ type: 'ExecutionFailed', Error: 'Pipeline.Failed' });
  });

  it('3. max-time is exceeded: the step is stopped gracefully, the after-script runs, Pipeline.TimedOut', async () => {
    const { box, host } = await open(pipeline({ script: TRAP_AND_WAIT, extra: '        max-time: 1\n' }), {
      minuteSeconds: 1,
    });
    const run = await settle(host, (await start(host)).runId);
    expect(run.status).toBe('FAILED');
    expect(run.reason).toBe('timedOut');
    expect(statuses(run)).toEqual(['SUCCESSFUL', 'TIMED_OUT', 'NOT_RUN', 'SUCCESSFUL']);
    expect(markerLines(box, 'work-signals')).toEqual(['TERM']);
    expect(markerLines(box, 'work-cleanup')).toEqual(['cleaned up']);
    expect(markerLines(box, 'work-after')).toEqual(['143']);
    expectFinalOnce(box, run.runId);
    expect(await locksAreFree(host)).toBe(true);
    expect(lastEvent(box, run.runId)).toMatchObject({ type: 'ExecutionFailed', Error: 'Pipeline.TimedOut' });
  });

  describe('4. stopped during a step', () => {
    it('graceful: one TERM, the script cleans up, the after-script runs, then the final step', async () => {
      const { box, host } = await open(pipeline({ script: TRAP_AND_WAIT }));
      const { runId } = await start(host);
      await marker(box, 'work-started');
      const stop = await host.core.stop({ runId, caller: ALICE, mode: 'graceful', reason: 'testing' });
      expect(stop.mode).toBe('graceful');
      const run = await settle(host, runId);
      expect(run.status).toBe('STOPPED');
      expect(run.reason).toBe('stopped');
      expect(run.stop).toMatchObject({ by: ALICE.user, mode: 'graceful', reason: 'testing' });
      expect(statuses(run)).toEqual(['SUCCESSFUL', 'STOPPED', 'NOT_RUN', 'SUCCESSFUL']);
      expect(markerLines(box, 'work-signals')).toEqual(['TERM']);
      expect(markerLines(box, 'work-cleanup')).toEqual(['cleaned up']);
      expect(markerLines(box, 'work-after')).toEqual(['143']);
      expectFinalOnce(box, run.runId);
      expect(await locksAreFree(host)).toBe(true);
      expect(lastEvent(box, runId)).toMatchObject({ type: 'ExecutionFailed', Error: 'Pipeline.Stopped' });
    });

    it('drain: the running step finishes, nothing else starts, then the final step', async () => {
      const { box, host } = await open(
        pipeline({
          script: [
            'echo started >> "$MARKERS/work-started"',
            'while [ ! -e "$MARKERS/release-work" ]; do sleep 0.05; done',
          ],
        }),
      );
      const { runId } = await start(host);
      await marker(box, 'work-started');
      await host.core.stop({ runId, caller: ALICE, mode: 'drain' });
      expect((await runOf(host, runId)).status).toBe('DRAINING');
      expect(markerLines(box, 'work-signals')).toEqual([]);
      await import('node:fs/promises').then((fs) => fs.writeFile(`${box.markers}/release-work`, ''));
      const run = await settle(host, runId);
      expect(run.status).toBe('STOPPED');
      expect(run.reason).toBe('drained');
      expect(statuses(run)).toEqual(['SUCCESSFUL', 'SUCCESSFUL', 'NOT_RUN', 'SUCCESSFUL']);
      expect(markerLines(box, 'work-after')).toEqual(['0']);
      expect(markerLines(box, 'publish')).toEqual([]);
      expectFinalOnce(box, run.runId);
      expect(await locksAreFree(host)).toBe(true);
    });

    it('immediate: the step is killed at once, its after-script skipped, then the final step', async () => {
      const { box, host } = await open(pipeline({ script: TRAP_AND_WAIT }));
      const { runId } = await start(host);
      await marker(box, 'work-started');
      await host.core.stop({ runId, caller: ALICE, mode: 'immediate' });
      const run = await settle(host, runId);
      expect(run.status).toBe('STOPPED');
      expect(statuses(run)).toEqual(['SUCCESSFUL', 'STOPPED', 'NOT_RUN', 'SUCCESSFUL']);
      expect(markerLines(box, 'work-signals')).toEqual([]);
      expect(markerLines(box, 'work-cleanup')).toEqual([]);
      expect(markerLines(box, 'work-after')).toEqual([]);
      expectFinalOnce(box, run.runId);
      expect(await locksAreFree(host)).toBe(true);
    });
  });

  it('5. stopped while waiting for approval: the manual step never runs, the final step does', async () => {
    const { box, host } = await open(
      pipeline({ script: ['echo working >> "$MARKERS/work"'], extra: '        trigger: manual\n' }),
    );
    const { runId } = await start(host);
    await until('the run to pause', async () => (await runOf(host, runId)).status === 'PAUSED');
    await host.core.stop({ runId, caller: ALICE });
    const run = await settle(host, runId);
    expect(run.status).toBe('STOPPED');
    expect(statuses(run)).toEqual(['SUCCESSFUL', 'NOT_RUN', 'NOT_RUN', 'SUCCESSFUL']);
    expect(markerLines(box, 'work')).toEqual([]);
    expectFinalOnce(box, run.runId);
    expect(await locksAreFree(host)).toBe(true);
  });

  it('7. a step that ignores SIGTERM is killed after the grace and the run is STOPPED', async () => {
    const { box, host } = await open(
      pipeline({
        // The signal also ends the `sleep`; `|| :` keeps set -e from ending the script with it.
        script: [
          `trap 'echo TERM >> "$MARKERS/work-signals"' TERM`,
          'echo started >> "$MARKERS/work-started"',
          'while :; do sleep 0.05 || :; done',
        ],
      }),
    );
    const { runId } = await start(host);
    await marker(box, 'work-started');
    const stoppedAt = Date.now();
    await host.core.stop({ runId, caller: ALICE });
    const run = await settle(host, runId);
    const work = stepsOf(run)[1]!;
    expect(run.status).toBe('STOPPED');
    expect(work.status).toBe('STOPPED');
    // One TERM, ignored; SIGKILL after the 1 s grace; the after-script sees the kill.
    expect(markerLines(box, 'work-signals')).toEqual(['TERM']);
    expect(markerLines(box, 'work-after')).toEqual(['137']);
    expect(work.endedAt! - stoppedAt).toBeGreaterThanOrEqual(900);
    expectFinalOnce(box, run.runId);
    expect(await locksAreFree(host)).toBe(true);
  });

  it('8. the after-script fails: the step result and the run are unchanged', async () => {
    const { box, host } = await open(
      pipeline({
        script: ['echo working'],
        after: ['echo "$BITBUCKET_EXIT_CODE" >> "$MARKERS/work-after"', 'exit 9'],
      }),
    );
    const run = await settle(host, (await start(host)).runId);
    expect(run.status).toBe('SUCCESSFUL');
    expect(statuses(run)).toEqual(['SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL']);
    expect(markerLines(box, 'work-after')).toEqual(['0']);
    expectFinalOnce(box, run.runId);
    expect(await locksAreFree(host)).toBe(true);
  });

  it('9. the final step fails: the run fails', async () => {
    const { box, host } = await open(
      pipeline({ script: ['echo working'] }, ['echo final >> "$MARKERS/final"', 'exit 5']),
    );
    const run = await settle(host, (await start(host)).runId);
    expect(run.status).toBe('FAILED');
    expect(run.reason).toBe('finalFailed');
    expect(statuses(run)).toEqual(['SUCCESSFUL', 'SUCCESSFUL', 'SUCCESSFUL', 'FAILED']);
    expect(stepsOf(run)[3]?.exitCode).toBe(5);
    expectFinalOnce(box, run.runId);
    expect(await locksAreFree(host)).toBe(true);
  });

  it('10. a second stop during the final step is refused, unless an admin asks for immediate', async () => {
    const { box, host } = await open(
      pipeline({ script: TRAP_AND_WAIT }, [
        'echo final >> "$MARKERS/final"',
        'while [ ! -e "$MARKERS/release-final" ]; do sleep 0.05; done',
      ]),
    );
    await host.core.setSetting({ repository: host.repository, caller: BOB, key: 'admins', value: BOB.user });
    const { runId } = await start(host);
    await marker(box, 'work-started');
    await host.core.stop({ runId, caller: ALICE });
    await marker(box, 'final');
    for (const [caller, mode] of [
      [ALICE, 'graceful'],
      [ALICE, 'immediate'],
      [BOB, 'graceful'],
    ] as const) {
      await expect(host.core.stop({ runId, caller, mode })).rejects.toThrow(NotAllowedError);
    }
    expect((await runOf(host, runId)).steps['3']?.status).toBe('RUNNING');
    await host.core.stop({ runId, caller: BOB, mode: 'immediate', reason: 'final step hangs' });
    const run = await settle(host, runId);
    expect(run.status).toBe('STOPPED');
    expect(stepsOf(run)[3]?.status).toBe('STOPPED');
    expectFinalOnce(box, run.runId);
    expect(await locksAreFree(host)).toBe(true);
  });

  it('11. a non-admin stop under stop-policy admins is refused, and the run goes on', async () => {
    const { box, host } = await open(
      pipeline({
        script: [
          'echo started >> "$MARKERS/work-started"',
          'while [ ! -e "$MARKERS/release-work" ]; do sleep 0.05; done',
        ],
      }),
    );
    await host.core.setSetting({ repository: host.repository, caller: BOB, key: 'admins', value: BOB.user });
    await host.core.setSetting({
      repository: host.repository,
      caller: BOB,
      key: 'stop-policy',
      value: 'admins',
    });
    const { runId } = await start(host);
    await marker(box, 'work-started');
    await expect(host.core.stop({ runId, caller: ALICE })).rejects.toThrow(/admins|bob@example\.com/);
    expect((await runOf(host, runId)).status).toBe('RUNNING');
    await import('node:fs/promises').then((fs) => fs.writeFile(`${box.markers}/release-work`, ''));
    const run = await settle(host, runId);
    expect(run.status).toBe('SUCCESSFUL');
    expect(run.stop).toBeUndefined();
    expectFinalOnce(box, run.runId);
    expect(await locksAreFree(host)).toBe(true);
  });
});
