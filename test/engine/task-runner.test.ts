// The local task runner when recording a task's start fails: a live engine stops the task it cannot
// account for; an engine that went away (detached) touches nothing of it, not even its workspace.
// The fault simulation found the second (seed 2, schedules 987, 3088, 8323): an engine killed while
// its final step started removed that step's workspace, and the supervisor could not cd there, so
// the final step ended ERROR without running its script.

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
  return { paths, markers, run, task, workspace: paths.run(run.runId).workspace(0) };
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
});
