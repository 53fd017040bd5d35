// Fault matrix cells about deployment locks, on the embedded engine: runs that deploy to one
// environment never overlap, wait in FIFO order and resume by themselves; a stopped waiter leaves
// the queue and still runs its final step.

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../local/host';
import {
  ALICE,
  BOB,
  closeHost,
  entered,
  history,
  locksAreFree,
  markerLines,
  openHost,
  runOf,
  sandbox,
  settle,
  start,
  stepsOf,
  until,
} from './harness';

let host: LocalHost | undefined;
afterEach(async () => {
  await closeHost(host);
  host = undefined;
});

/** Each deployment writes `start <build> <ms>` and `end <build> <ms>` lines, and its final step one line. */
const DEPLOY = (hold: string) => `pipelines:
  default:
    - step:
        name: Deploy
        deployment: production
        script:
          - echo "start $BITBUCKET_BUILD_NUMBER $(date +%s%3N)" >> "$MARKERS/deploys"
          - ${hold}
          - echo "end $BITBUCKET_BUILD_NUMBER $(date +%s%3N)" >> "$MARKERS/deploys"
    - final:
        name: Cleanup
        script:
          - echo "$BITBUCKET_BUILD_NUMBER" >> "$MARKERS/final"
`;

interface Interval {
  readonly build: number;
  readonly start: number;
  readonly end: number;
}

function intervals(lines: readonly string[]): Interval[] {
  const starts = new Map<number, number>();
  const result: Interval[] = [];
  for (const line of lines) {
    const [kind, build, at] = line.split(' ');
    if (kind === 'start') starts.set(Number(build), Number(at));
    else result.push({ build: Number(build), start: starts.get(Number(build))!, end: Number(at) });
  }
  return result.sort((a, b) => a.start - b.start);
}

function expectNoOverlap(list: readonly Interval[]) {
  for (let i = 1; i < list.length; i++) {
    expect(
      list[i]!.start,
      `build ${list[i]!.build} started before build ${list[i - 1]!.build} ended`,
    ).toBeGreaterThanOrEqual(list[i - 1]!.end);
  }
}

describe('deployment locks on the embedded engine', () => {
  it('13. two runs deploy to one environment: no overlap, the second waits and resumes by itself', async () => {
    const box = sandbox(DEPLOY('sleep 0.4'));
    host = await openHost(box);
    const first = await start(host);
    await until(
      'the first run to hold the lock',
      async () => (await runOf(host!, first.runId)).locks['deployment:production'],
    );
    const second = await start(host);
    await until(
      'the second run to queue',
      async () => (await runOf(host!, second.runId)).waiting?.kind === 'lock',
    );
    const [a, b] = await Promise.all([settle(host, first.runId), settle(host, second.runId)]);
    expect([a.status, b.status]).toEqual(['SUCCESSFUL', 'SUCCESSFUL']);
    const deploys = intervals(markerLines(box, 'deploys'));
    expect(deploys.map((d) => d.build)).toEqual([first.buildNumber, second.buildNumber]);
    expectNoOverlap(deploys);
    expect(markerLines(box, 'final').sort()).toEqual([String(first.buildNumber), String(second.buildNumber)]);
    for (const run of [a, b]) expect(entered(history(box, run.runId), '[Final Step] Cleanup')).toBe(1);
    expect(await locksAreFree(host)).toBe(true);
  });

  it('6. stopped while waiting for a lock: it leaves the queue, runs its final step; the holder goes on', async () => {
    const box = sandbox(DEPLOY('while [ ! -e "$MARKERS/release" ]; do sleep 0.05; done'));
    host = await openHost(box);
    const holder = await start(host);
    await until('the holder to deploy', async () => markerLines(box, 'deploys').length === 1);
    const waiter = await start(host);
    await until(
      'the waiter to queue',
      async () => (await runOf(host!, waiter.runId)).waiting?.kind === 'lock',
    );
    await host.core.stop({ runId: waiter.runId, caller: ALICE });
    const stopped = await settle(host, waiter.runId);
    expect(stopped.status).toBe('STOPPED');
    expect(stepsOf(stopped).map((s) => s.status)).toEqual(['NOT_RUN', 'SUCCESSFUL']);
    expect(markerLines(box, 'final')).toEqual([String(waiter.buildNumber)]);
    const locks = await host.core.listLocks(host.repository);
    expect(locks).toEqual([
      expect.objectContaining({
        key: 'deployment:production',
        holder: expect.objectContaining({ runId: holder.runId }),
        waiters: [],
      }),
    ]);
    await writeFile(`${box.markers}/release`, '');
    const done = await settle(host, holder.runId);
    expect(done.status).toBe('SUCCESSFUL');
    expect(markerLines(box, 'deploys').filter((line) => line.startsWith('start'))).toHaveLength(1);
    expect(await locksAreFree(host)).toBe(true);
  });

  it('14. twenty concurrent runs on one lock: no overlap, FIFO, and all complete', async () => {
    const box = sandbox(DEPLOY('sleep 0.05'));
    host = await openHost(box);
    const runs = await Promise.all(Array.from({ length: 20 }, () => start(host!)));
    // A snapshot of the queue while it is long: the lock must be handed over in exactly this order.
    const queued = await until('a long queue', async () => {
      const [lock] = await host!.core.listLocks(host!.repository);
      return lock && lock.waiters.length >= 5 && lock.waiters.map((waiter) => waiter.runId);
    });
    const ended = await Promise.all(runs.map((run) => settle(host!, run.runId)));
    expect(ended.map((run) => run.status)).toEqual(Array(20).fill('SUCCESSFUL'));
    const deploys = intervals(markerLines(box, 'deploys'));
    expect(deploys).toHaveLength(20);
    expectNoOverlap(deploys);
    expect(markerLines(box, 'final')).toHaveLength(20);
    const buildOf = new Map(runs.map((run) => [run.runId, run.buildNumber]));
    const deployOrder = deploys.map((d) => d.build);
    const queuedOrder = queued.map((runId) => buildOf.get(runId)!);
    expect(deployOrder.filter((build) => queuedOrder.includes(build))).toEqual(queuedOrder);
    expect(await locksAreFree(host)).toBe(true);
  }, 120_000);

  it('a forced unlock is told to the step that held it, in its log and its record; fences grow', async () => {
    const box = sandbox(
      DEPLOY(
        'echo "fence $FINALE_DEPLOYMENT_FENCE" >> "$MARKERS/fences"; while [ ! -e "$MARKERS/release-$BITBUCKET_BUILD_NUMBER" ]; do sleep 0.05; done',
      ),
    );
    host = await openHost(box);
    await host.core.setSetting({ repository: host.repository, caller: BOB, key: 'admins', value: BOB.user });
    const holder = await start(host);
    await until('the holder to deploy', async () => markerLines(box, 'fences').length === 1);
    const waiter = await start(host);
    await until(
      'the waiter to queue',
      async () => (await runOf(host!, waiter.runId)).waiting?.kind === 'lock',
    );

    const unlocked = await host.core.forceUnlock({
      repository: host.repository,
      key: 'deployment:production',
      caller: BOB,
      reason: 'stuck',
    });
    expect(unlocked).toMatchObject({ told: true, holder: { runId: holder.runId, fence: 1 } });
    // The waiter got the lock with the next fencing token while the old holder still runs.
    await until('the waiter to deploy', async () => markerLines(box, 'fences').length === 2);
    expect(markerLines(box, 'fences')).toEqual(['fence 1', 'fence 2']);
    const told =
      /^finale: Lock deployment:production \(fence 1\) was force-unlocked by bob@example\.com at \S+ \(stuck\): another run may take it now; this step no longer holds it$/m;
    expect(readFileSync(box.paths.run(holder.runId).log(0), 'utf8')).toMatch(told);
    const record = await runOf(host, holder.runId);
    expect(record.notes?.map((note) => note.text)).toEqual([
      expect.stringMatching(
        /^Lock deployment:production \(fence 1\) was force-unlocked by bob@example\.com at /,
      ),
    ]);
    expect(record.locks['deployment:production']).toBeUndefined();

    await writeFile(`${box.markers}/release-${holder.buildNumber}`, '');
    await writeFile(`${box.markers}/release-${waiter.buildNumber}`, '');
    const [a, b] = await Promise.all([settle(host, holder.runId), settle(host, waiter.runId)]);
    expect([a.status, b.status]).toEqual(['SUCCESSFUL', 'SUCCESSFUL']);
    expect(await locksAreFree(host)).toBe(true);
  });
});
