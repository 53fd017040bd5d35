// The step task's program, bundled as it ships and run as local processes (step-task.ts): prepare,
// the step container's start.sh with the real supervisor, and the agent. The step's output reaches
// the agent's output only, masked; secured output variables (KMS) are in moto-secured.test.ts.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SecretVault } from '../../core/ports';
import { setVariable } from '../../core/repository-variables';
import { TASK_ENV } from '../../statemachine/compiler/plan';
import { detectContainment } from '../../supervisor/containment';
import { planOfYaml } from '../statemachine/compiler/support';
import { git, start, until, useStepTask } from './step-task';

const PLAN = () =>
  planOfYaml(`pipelines:
  default:
    - step:
        name: Build
        script:
          - cat hello.txt
          - echo "pid 1 is $(tr '\\0' ' ' < /proc/1/cmdline)"
          - mkdir -p dist && echo built > dist/app.txt
          - echo VERSION=1.2.3 >> $BITBUCKET_PIPELINES_VARIABLES_PATH
        artifacts:
          - dist/**
        output-variables:
          - VERSION
    - step:
        name: Deploy
        script:
          - cat dist/app.txt
          - echo "deploying $VERSION on $BITBUCKET_BRANCH"
    - step:
        name: Long
        script:
          - trap 'echo long got TERM; exit 143' TERM
          - touch "$BITBUCKET_CLONE_DIR/started"
          - sleep 60 & wait $!
        after-script:
          - echo after-script ran
    - step:
        name: Secret
        script:
          - head="\${NPM_TOKEN%????????}"; printf 'token=%s' "$head"; sleep 0.5; printf '%s (end)\\n' "\${NPM_TOKEN#"$head"}"
          - set -x; echo "$NPM_TOKEN" >&2; set +x
          - echo "plain $API_URL"
`);

const task = useStepTask(PLAN);
const { db } = task;
/** Plain variables only here: the vault is never asked. */
const unusedVault = new Proxy({} as SecretVault, {
  get: (_, method) => () => Promise.reject(new Error(`vault.${String(method)} called`)),
});

describe('the step task program', () => {
  it('prepares, runs and reports a step; the next step gets its artifacts and output variables', async () => {
    const run = await task.newRun();
    const build = await task.runStep(run, 0, 'build');
    expect(build.prepared.output).toContain(
      `git clone file://${join(task.root, 'host')}/team/app.git at ${task.commit}`,
    );
    expect(build.prepared.output).not.toContain('x-access-token');
    expect(git(build.dirs.workspace, 'rev-parse', 'HEAD')).toBe(task.commit);
    expect(git(build.dirs.workspace, 'branch', '--show-current')).toBe('main');
    const env = await readFile(join(build.dirs.finale, 'env'), 'utf8');
    expect(env).toContain(`BITBUCKET_COMMIT='${task.commit}'`);
    expect(env).toContain("BITBUCKET_REPO_FULL_NAME='team/app'");
    expect(env).toContain("FINALE_STOP_GRACE='30'");

    const [agent, container] = await Promise.all([build.agent.exited, build.container.exited]);
    // The step's output goes to the agent, which writes it to its own log; the container's is empty.
    expect(container.output).toBe('');
    expect(agent.output).toContain('hello from the repository');
    // The step container is a PID namespace of its own (as on Fargate) whose PID 1 is the supervisor.
    if (detectContainment()) expect(agent.output).toMatch(/pid 1 is \/bin\/sh \S+\/supervisor\.sh/);
    expect(agent.code, agent.output).toBe(0);
    expect(agent.output).toContain('1 artifact file uploaded');
    const after = (await db.store.runs.get(run.runId))!;
    expect(after.outputs).toEqual({ VERSION: '1.2.3' });
    expect(after.steps['0']!.exitCode).toBe(0);
    expect([...task.aws.objects.keys()]).toContain(`artifacts/artifacts/${run.runId}/0.tar.gz`);

    const deploy = await task.runStep(run, 1, 'deploy');
    expect(deploy.prepared.output).toContain('artifacts of "Build" downloaded');
    const [deployAgent] = await Promise.all([deploy.agent.exited, deploy.container.exited]);
    expect(deployAgent.code, deployAgent.output).toBe(0);
    expect(deployAgent.output).toContain('built');
    expect(deployAgent.output).toContain('deploying 1.2.3 on main');
    // The script's output comes before the agent's own report of the step.
    expect(deployAgent.output.indexOf('deploying 1.2.3')).toBeLessThan(
      deployAgent.output.indexOf('finale: step succeeded'),
    );
  });

  it('turns SIGTERM into an immediate stop when the run was stopped immediately: no after-script', async () => {
    const run = await task.newRun();
    const long = await task.runStep(run, 2, 'immediate');
    await until('the script to start', () => existsSync(join(long.dirs.workspace, 'started')));
    await until('the agent to watch', () => long.agent.output().includes('agent waiting for step 2'));
    const current = (await db.store.runs.get(run.runId))!;
    await db.store.runs.requestStop(run.runId, {
      status: 'STOPPING',
      record: { by: 'admin', mode: 'immediate', at: Date.now() },
      expectedVersion: current.version,
    });
    long.agent.child.kill('SIGTERM');
    const [agent, container] = await Promise.all([long.agent.exited, long.container.exited]);
    expect(agent.code, agent.output).toBe(240);
    expect(agent.output).toContain('immediate stop requested by admin');
    expect(agent.output).not.toContain('after-script ran');
    expect(container.output).toBe('');
    expect(await readFile(join(long.dirs.finale, 'status'), 'utf8')).toMatch(
      /outcome=stopped .* stop=immediate/,
    );
  });

  it('turns SIGTERM into a graceful stop otherwise: one signal, then the after-script', async () => {
    const run = await task.newRun();
    const long = await task.runStep(run, 2, 'graceful');
    await until('the script to start', () => existsSync(join(long.dirs.workspace, 'started')));
    await until('the agent to watch', () => long.agent.output().includes('agent waiting for step 2'));
    long.agent.child.kill('SIGTERM');
    const [agent] = await Promise.all([long.agent.exited, long.container.exited]);
    expect(agent.code, agent.output).toBe(240);
    expect(agent.output).toContain('long got TERM');
    expect(agent.output).toContain('after-script ran');
    expect((await db.store.runs.get(run.runId))!.steps['2']!.exitCode).toBe(143);
  });

  it("masks the step's secured variables in its log: cut across writes, under set -x, on stderr", async () => {
    const run = await task.newRun();
    await setVariable(
      {
        repository: run.repository,
        caller: { user: 'bob' },
        name: 'API_URL',
        value: 'https://api.example',
        secured: false,
      },
      { store: db.store, vault: unusedVault, clock: { now: () => Date.now() } },
    );
    const token = 'npm_9f8e7d6c5b4a3210';
    const secret = await task.runStep(run, 3, 'secret', {
      step: { NPM_TOKEN: token },
      agent: { FINALE_MASK_NPM_TOKEN: token },
    });
    // Plain stored variables come through the env file; secured ones never go in it.
    const env = await readFile(join(secret.dirs.finale, 'env'), 'utf8');
    expect(env).toContain("API_URL='https://api.example'");
    expect(env).not.toContain(token);
    const [agent, container] = await Promise.all([secret.agent.exited, secret.container.exited]);
    expect(agent.code, agent.output).toBe(0);
    expect(agent.output).toContain('token=$NPM_TOKEN (end)');
    expect(agent.output).toContain('+ echo $NPM_TOKEN');
    expect(agent.output).toContain('plain https://api.example');
    expect(agent.output).not.toContain(token);
    expect(container.output).toBe('');
    // The unmasked output stays on the task's own volume, which goes with the task.
    expect(await readFile(join(secret.dirs.finale, 'output'), 'utf8')).toContain(token);
    expect((await db.store.runs.get(run.runId))!.steps['3']!.exitCode).toBe(0);
  });

  it('ends the task with an error when the step container dies without a status (killed, out of memory)', async () => {
    const run = await task.newRun();
    const long = await task.runStep(run, 2, 'killed');
    await until('the script to start', () => existsSync(join(long.dirs.workspace, 'started')));
    long.container.child.kill('SIGKILL');
    const agent = await long.agent.exited;
    expect(agent.code, agent.output).toBe(242);
    expect(agent.output).toContain(
      'the step container ended without a status (killed, or out of memory; exit code',
    );
  });

  it('ends the task with an error when the step cannot be prepared', async () => {
    const run = await task.newRun();
    const dirs = await task.dirsFor('broken');
    const env = {
      ...task.environment(run, 0, dirs),
      [TASK_ENV.plan]: 'no-such-plan',
      ECS_CONTAINER_METADATA_URI_V4: (await task.metadataEndpoint()).uri,
    };
    const prepared = await start(process.execPath, [task.bundle, 'prepare'], env).exited;
    expect(prepared.code).toBe(1);
    expect(prepared.output).toContain('plan no-such-plan is not in the plans table');
    const agent = await start(process.execPath, [task.bundle, 'agent'], env).exited;
    expect(agent.code).toBe(242);
    expect(agent.output).toContain(
      'the step could not be prepared: plan no-such-plan is not in the plans table',
    );
  });
});
