// The engine dies at exact points of a run — in-process, so that the point is exact: the host is
// abandoned as a kill -9 would leave it (nothing more written, no lease handed over, its steps'
// processes left running), then a second host opens the same store and adopts the run. Real
// supervisor processes and signals throughout. test/cli/crashes.test.ts does the same with a real
// server killed by a real SIGKILL.

import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../local/host';
import { controlDirs, livingSupervisor } from '../../local/step-processes';
import type { ControlPayload } from '../../vocabulary/contract';
import { leftAlive, stepProcessesIn } from '../support/processes';
import {
  closeHost,
  entered,
  history,
  locksAreFree,
  markerLines,
  openHost,
  runOf,
  type Sandbox,
  sandbox,
  settle,
  start,
  until,
} from './harness';

const opened: LocalHost[] = [];
afterEach(async () => {
  for (const host of opened.splice(0)) await closeHost(host);
});

const FINAL = '[Final Step] Cleanup';

const PIPELINE = (finalScript = ['echo final >> "$MARKERS/final"']) => `pipelines:
  default:
    - step:
        name: Deploy
        deployment: production
        script:
          - echo deployed >> "$MARKERS/deploy"
    - final:
        name: Cleanup
        script:
${finalScript.map((line) => `          - ${JSON.stringify(line)}`).join('\n')}
`;

/** A host that dies the first time `when` holds, before that control action runs. */
async function dyingHost(box: Sandbox, when: (request: ControlPayload) => boolean) {
  let died: () => void = () => undefined;
  const death = new Promise<void>((resolve) => {
    died = resolve;
  });
  let dead = false;
  const host: LocalHost = await openHost(box, {
    seams: {
      async beforeControl(request) {
        if (dead || !when(request)) return;
        dead = true;
        await host.abandon();
        died();
        // A dead engine answers nothing.
        await new Promise(() => undefined);
      },
    },
  });
  return { host, death };
}

async function adopt(box: Sandbox, runId: string) {
  const next = await openHost(box);
  opened.push(next);
  // Claimed, then ended by the recovery execution, which may start a moment after the claim.
  const run = await until('the run to be adopted and finished', async () => {
    const current = await runOf(next, runId);
    return current.engine?.instance === next.instance && current.phase === 'done' && current;
  });
  return { host: next, run };
}

describe('the engine dies', () => {
  it('right before Finish run: the final step does not run again, the run finishes ERROR, its lock is free', async () => {
    const box = sandbox(PIPELINE());
    const { host, death } = await dyingHost(box, (request) => request.action === 'finishRun');
    const { runId } = await start(host);
    await death;
    expect(markerLines(box, 'final')).toEqual(['final']);
    const { host: next, run } = await adopt(box, runId);
    expect(run.status).toBe('ERROR');
    expect(run.reason).toBe('orphaned');
    expect(markerLines(box, 'final')).toEqual(['final']);
    expect(run.steps['1']).toMatchObject({ status: 'SUCCESSFUL', attempts: 1 });
    expect(run.notes?.map((note) => note.text).join('\n')).toMatch(/went away on the final path/);
    // Both executions together entered the final step's task once.
    expect(entered(history(box, runId), FINAL)).toBe(1);
    expect(await locksAreFree(next)).toBe(true);
  });

  it('right after entering the final path: the recovery runs the final step, once', async () => {
    const box = sandbox(PIPELINE());
    const { host, death } = await dyingHost(
      box,
      (request) => request.action === 'beginStep' && request.step === 1,
    );
    const { runId } = await start(host);
    await death;
    expect(markerLines(box, 'final')).toEqual([]);
    const { host: next, run } = await adopt(box, runId);
    expect(run.status).toBe('ERROR');
    expect(markerLines(box, 'final')).toEqual(['final']);
    expect(run.steps['1']).toMatchObject({ status: 'SUCCESSFUL', attempts: 1 });
    expect(await locksAreFree(next)).toBe(true);
  });

  it('after the final step ended but before its end was recorded: its result is taken, it does not run again', async () => {
    const box = sandbox(PIPELINE(['echo final >> "$MARKERS/final"', 'exit 3']));
    const { host, death } = await dyingHost(
      box,
      (request) => request.action === 'completeStep' && request.step === 1,
    );
    const { runId } = await start(host);
    await death;
    const { run } = await adopt(box, runId);
    expect(markerLines(box, 'final')).toEqual(['final']);
    expect(run.steps['1']).toMatchObject({ status: 'FAILED', exitCode: 3, attempts: 1 });
    expect(run.notes?.map((note) => note.text).join('\n')).toMatch(
      /"Cleanup" ended \(FAILED\) while no engine watched it/,
    );
    expect(run.status).toBe('ERROR');
  });

  it('during the final step, which is then killed too: only then does it run again, and the record says why', async () => {
    const box = sandbox(
      PIPELINE([
        'echo "attempt $BITBUCKET_STEP_UUID" >> "$MARKERS/final"',
        'while [ ! -e "$MARKERS/release" ]; do sleep 0.05; done',
      ]),
    );
    const host = await openHost(box);
    const { runId } = await start(host);
    // Started, as its script says, and recorded so (the record may come a moment after the script).
    await until(
      'the final step to start',
      async () => markerLines(box, 'final').length === 1 && (await runOf(host, runId)).steps['1']?.taskId,
    );
    await host.abandon();
    // The final step's own processes die too (a reboot, an OOM kill): nothing of it is left.
    const dir = (await controlDirs(box.paths, runId)).get(1)!;
    process.kill((await livingSupervisor(dir))!, 'SIGKILL');
    await until('the final step to be gone', async () => (await livingSupervisor(dir)) === undefined);
    writeFileSync(`${box.markers}/release`, '');
    const { run } = await adopt(box, runId);
    expect(markerLines(box, 'final')).toHaveLength(2);
    expect(run.steps['1']).toMatchObject({ status: 'SUCCESSFUL', attempts: 2 });
    expect(run.notes?.map((note) => note.text).join('\n')).toMatch(
      /"Cleanup" \(attempt 1\) was killed before it finished; it runs again as attempt 2/,
    );
    expect(await leftAlive(() => stepProcessesIn(box.root))).toEqual([]);
  });
});

describe('a step is killed', () => {
  it("kill -9 of a step's supervisor: the step fails, the final step runs once, nothing of the step is left", async () => {
    const box = sandbox(`pipelines:
  default:
    - step:
        name: Work
        script:
          - setsid sleep 300 &
          - echo started >> "$MARKERS/work"
          - sleep 300
    - final:
        name: Cleanup
        script:
          - echo final >> "$MARKERS/final"
`);
    const host = await openHost(box);
    opened.push(host);
    const { runId } = await start(host);
    await until('the step to start', async () => markerLines(box, 'work').length === 1);
    const dir = (await controlDirs(box.paths, runId)).get(0)!;
    process.kill((await livingSupervisor(dir))!, 'SIGKILL');
    const run = await settle(host, runId);
    expect(run.steps['0'], JSON.stringify(run.steps['0'])).toMatchObject({ status: 'FAILED', exitCode: 137 });
    expect(run.status).toBe('FAILED');
    expect(markerLines(box, 'final')).toEqual(['final']);
    expect(await leftAlive(() => stepProcessesIn(box.root))).toEqual([]);
  });
});
