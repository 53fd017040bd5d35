// A manual step inside a parallel group, refused: its branch ends, and the group's error does not
// reach the final path (the branch catches it), so the run's outcome comes from the step records.
// The fault simulation found such runs ending SUCCESSFUL (seed 2, schedules 3611 and 9864).

import { afterEach, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../local/host';
import {
  ALICE,
  closeHost,
  locksAreFree,
  markerLines,
  openHost,
  runOf,
  sandbox,
  settle,
  start,
  until,
} from './harness';

let host: LocalHost | undefined;
afterEach(async () => {
  await closeHost(host);
  host = undefined;
});

function pipeline(failFast: boolean, siblingExit: number) {
  return `pipelines:
  default:
    - step:
        name: Build
        script:
          - echo build >> "$MARKERS/build"
    - parallel:
        fail-fast: ${failFast}
        steps:
          - step:
              name: Approve me
              trigger: manual
              script:
                - echo approved >> "$MARKERS/approved"
          - step:
              name: Sibling
              script:
                - echo sibling >> "$MARKERS/sibling"
                - exit ${siblingExit}
    - step:
        name: After
        script:
          - echo after >> "$MARKERS/after"
    - final:
        name: Cleanup
        script:
          - echo final >> "$MARKERS/final"
`;
}

describe('a refused manual step in a parallel group', () => {
  for (const failFast of [false, true]) {
    it(`stops the run${failFast ? ' (fail-fast)' : ''}: the sibling runs, the next step does not, the final step does`, async () => {
      const box = sandbox(pipeline(failFast, 0));
      host = await openHost(box);
      const { runId } = await start(host);
      const open = host;
      await until('the run to pause', async () => (await runOf(open, runId)).status === 'PAUSED');
      await host.core.refuse({ runId, caller: ALICE });
      const run = await settle(host, runId);
      expect({ status: run.status, reason: run.reason }).toEqual({
        status: 'STOPPED',
        reason: 'approvalRefused',
      });
      expect(run.steps['1']).toMatchObject({ status: 'NOT_RUN', refusedBy: ALICE.user });
      expect(run.steps['2']?.status).toBe('SUCCESSFUL');
      expect(run.steps['3']?.status).toBe('NOT_RUN');
      expect(markerLines(box, 'approved')).toEqual([]);
      expect(markerLines(box, 'after')).toEqual([]);
      expect(markerLines(box, 'final')).toEqual(['final']);
      expect(await locksAreFree(host)).toBe(true);
    });
  }

  it('leaves the run FAILED when the sibling failed', async () => {
    const box = sandbox(pipeline(false, 3));
    host = await openHost(box);
    const { runId } = await start(host);
    const open = host;
    await until(
      'the sibling to fail',
      async () => (await runOf(open, runId)).steps['2']?.status === 'FAILED',
    );
    await host.core.refuse({ runId, caller: ALICE });
    const run = await settle(host, runId);
    expect({ status: run.status, reason: run.reason }).toEqual({ status: 'FAILED', reason: 'stepFailed' });
    expect(markerLines(box, 'final')).toEqual(['final']);
  });
});
