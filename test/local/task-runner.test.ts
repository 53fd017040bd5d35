// The local task runner when its engine goes away, or recording a task's start fails: a live engine
// stops the task it cannot account for; an engine that went away (detached) starts nothing more and
// touches nothing of what it started, not even a workspace. The fault simulation found both: an
// engine killed while its final step started removed that step's workspace, so the supervisor could
// not cd there and the final step ended ERROR without running its script (seed 2, schedules 987,
// 3088, 8323); and, once that was fixed, an engine killed while it prepared a step started it after
// the adopter had ended what was left, so its processes outlived the run (seed 4, schedule 3347).

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCore } from '../../core/index';
import { finalePaths } from '../../local/paths';
import { controlDirs, killStep, processesOf } from '../../local/step-processes';
import { LocalTaskRunner } from '../../local/task-runner';
import { planOf, useCoreHarness } from '../core/fixtures';
import { until } from './harness';

const h = useCoreHarness();
const roots: string[] = [];
afterEach(async () => {
  for (const root of roots.splice(0)) {
    const paths = finalePaths(root);
    for (const run of await readdir(join(paths.home, 'runs')).catch(() => []))
      for (const dir of (await controlDirs(paths, run)).values()) await killStep(dir);
    await rm(root, { recursive: true, force: true });
  }
});

async function setUp(failStart: (runner: LocalTaskRunner) => Promise<never>) {
  const root = mkdtempSync(join(tmpdir(), 'finale-task-runner-'));
  roots.push(root);
  const paths = finalePaths(root);
  const markers = join(root, 'markers');
  await mkdir(markers);
  const plan = planOf([
    {
      name: 'Deploy',
      clone: { enabled: false, lfs: false },
      stop: { graceful: true, signal: 'TERM', graceSeconds: 5 },
      script: [
        `trap 'echo TERM >> "${markers}/signals"; exit 143' TERM`,
        `pwd > "${markers}/cwd"`,
        'while :; do sleep 0.05; done',
      ],
      afterScript: [`echo after >> "${markers}/after"`],
    },
  ]);
  const run = await h.newRun(plan);
  const runner = new LocalTaskRunner({
    paths,
    repository: { workspace: 'acme', slug: 'app', uuid: '{acme-app}' },
    environment: { PATH: process.env.PATH },
  });
  const core = createCore(h.deps);
  runner.attach({ ...core, taskStarted: () => failStart(runner) });
  const task = runner.run({ runId: run.runId, step: 0, planHash: plan.hash, timeoutSeconds: 60 });
  return { paths, markers, run, runner, task, workspace: paths.run(run.runId).workspace(0) };
}

describe('the local task runner, when recording the start fails', () => {
  it('stops the task gracefully (its after-script runs) before the error goes on, and removes its workspace', async () => {
    const { markers, task, paths, run, workspace } = await setUp(async () => {
      await until('the script to start', async () => existsSync(join(markers, 'cwd')));
      throw new Error('the store is unreachable');
    });
    await expect(task).rejects.toThrow('the store is unreachable');
    expect(readFileSync(join(markers, 'signals'), 'utf8')).toBe('TERM\n');
    expect(readFileSync(join(markers, 'after'), 'utf8')).toBe('after\n');
    expect(await processesOf(paths.run(run.runId).control(0))).toEqual([]);
    await until('the workspace to go', async () => !existsSync(workspace));
  });

  it('leaves the task and its workspace alone when its engine went away meanwhile', async () => {
    const { markers, task, paths, run, workspace } = await setUp(async (runner) => {
      await until('the script to start', async () => existsSync(join(markers, 'cwd')));
      runner.detach();
      throw new Error('the engine went away');
    });
    await expect(task).rejects.toThrow('the engine went away');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(existsSync(workspace)).toBe(true);
    expect(existsSync(join(markers, 'signals'))).toBe(false);
    expect((await processesOf(paths.run(run.runId).control(0))).length).toBeGreaterThan(0);
  });

  it('does not start a step once its engine went away, even one it was preparing', async () => {
    const { markers, task, paths, run, runner } = await setUp(async () => {
      throw new Error('not reached');
    });
    // The run is still reading its plan and record: the engine goes away before it starts anything.
    runner.detach();
    await expect(task).rejects.toThrow('this engine has stopped');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(existsSync(join(markers, 'cwd'))).toBe(false);
    expect(await processesOf(paths.run(run.runId).control(0))).toEqual([]);
  });
});
