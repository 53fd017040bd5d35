// Fault matrix cell 12: the engine process is killed with -9 in the middle of a step. The next
// finale command starts a new server, which finds the orphaned run once its lease has expired,
// kills what is left of the step, marks the run ERROR, runs its final step and releases its locks.

import { afterEach, describe, expect, it } from 'vitest';
import { marker, markerLines, sandbox, until } from '../engine/harness';
import { alive } from '../supervisor/helpers';
import { finale, launch, serverInfo, stopServer } from './support';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map(stopServer));
});

describe('an engine killed with -9', () => {
  it('12. the next command adopts the orphan: leftovers killed, ERROR, final step once, locks released', async () => {
    const box = sandbox(`pipelines:
  default:
    - step:
        name: Deploy
        deployment: production
        script:
          - echo $$ >> "$MARKERS/script-pid"
          - sleep 600 &
          - echo $! >> "$MARKERS/child-pid"
          - while :; do sleep 0.1; done
        after-script:
          - echo after >> "$MARKERS/after"
    - final:
        name: Cleanup
        script:
          - echo final >> "$MARKERS/final"
`);
    roots.push(box.root);
    const env = { MARKERS: box.markers };
    const run = launch(['run'], box.root, env);
    await marker(box, 'child-pid');
    const server = serverInfo(box.root);
    const leftovers = [...markerLines(box, 'script-pid'), ...markerLines(box, 'child-pid')].map(Number);
    expect(leftovers.every(alive)).toBe(true);

    process.kill(server.pid, 'SIGKILL');
    // The client loses its server; it is only a client, so it just fails.
    await run.result;
    expect(leftovers.every(alive)).toBe(true);

    // Any command brings a new server up; it adopts the run once the dead one's lease expires.
    const show = await until(
      'the orphan to be adopted and finished',
      async () => {
        const result = await finale(['show', '1', '--json'], box.root, env);
        const summary = result.code === 0 && JSON.parse(result.stdout);
        return summary && summary.status === 'ERROR' && summary;
      },
      30_000,
    );
    expect(serverInfo(box.root).pid).not.toBe(server.pid);
    expect(show.reason).toBe('orphaned');
    expect(show.steps.map((step: { status: string }) => step.status)).toEqual(['ERROR', 'SUCCESSFUL']);
    await until('the leftover processes to be gone', async () => leftovers.every((pid) => !alive(pid)), 5000);
    expect(markerLines(box, 'final')).toEqual(['final']);
    const locks = JSON.parse((await finale(['locks', '--json'], box.root, env)).stdout);
    expect(locks).toEqual([expect.objectContaining({ key: 'deployment:production', waiters: [] })]);
    expect(locks[0].holder).toBeUndefined();
  }, 60_000);
});
