// The step task's program, bundled as it ships and run as local processes: `prepare`, then the step
// container's start.sh (the real supervisor) next to `agent`, against dynalite, a local git
// repository as the host, and a local stand-in for S3 and Secrets Manager.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../aws/config';
import { createRun } from '../../core/runs';
import { TASK_ENV } from '../../statemachine/compiler/plan';
import type { RunRecord } from '../../store/records';
import { detectContainment } from '../../supervisor/containment';
import { planOfYaml } from '../statemachine/compiler/support';
import { useDynalite } from '../support/dynalite';
import { type FakeAws, startFakeAws } from './fake-aws';

const db = useDynalite();
let aws: FakeAws;
let root: string;
let bundle: string;
let commit: string;
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:host';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
  }).trim();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'finale-agent-'));
  bundle = join(root, 'finale-agent.mjs');
  execFileSync(process.execPath, ['agent/build.mjs', bundle]);
  aws = await startFakeAws();
  // The "host": a bare repository where the host secret's webUrl says repositories are.
  const work = join(root, 'work');
  await mkdir(work);
  git(work, 'init', '-q', '-b', 'main');
  await writeFile(join(work, 'hello.txt'), 'hello from the repository\n');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'first');
  commit = git(work, 'rev-parse', 'HEAD');
  await mkdir(join(root, 'host', 'team'), { recursive: true });
  git(root, 'clone', '-q', '--bare', work, join(root, 'host', 'team', 'app.git'));
  aws.secrets.set(
    SECRET_ARN,
    JSON.stringify({ kind: 'github', token: 't', webUrl: `file://${join(root, 'host')}` }),
  );
});
const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) server.close();
  await aws?.close();
  await rm(root, { recursive: true, force: true });
});

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
`);

function environment(
  run: RunRecord,
  step: number,
  dirs: { finale: string; workspace: string },
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: root,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_S3: aws.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
    ...Object.fromEntries(
      Object.entries(LAMBDA_ENV.tables).map(([table, name]) => [
        name,
        db.tables[table as keyof typeof db.tables],
      ]),
    ),
    [LAMBDA_ENV.hostTokenSecretArn]: SECRET_ARN,
    [LAMBDA_ENV.artifactsBucket]: 'artifacts',
    [TASK_ENV.runId]: run.runId,
    [TASK_ENV.step]: String(step),
    [TASK_ENV.plan]: run.planHash,
    FINALE_DIR: dirs.finale,
    FINALE_WORKSPACE: dirs.workspace,
  };
}

interface Exited {
  code: number | null;
  output: string;
}
function start(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; exited: Promise<Exited>; output: () => string } {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<Exited>((resolve) => child.on('close', (code) => resolve({ code, output })));
  return { child, exited, output: () => output };
}

async function newRun(): Promise<RunRecord> {
  const run = await createRun(
    {
      plan: PLAN(),
      repository: 'team/app',
      trigger: { kind: 'branch', ref: 'main', commit },
      startedBy: 'bob',
    },
    { store: db.store, clock: { now: () => Date.now() } },
  );
  await db.store.runs.start(run.runId, Date.now());
  return run;
}

async function dirsFor(name: string) {
  const dirs = { finale: join(root, name, 'finale'), workspace: join(root, name, 'workspace') };
  await mkdir(dirs.finale, { recursive: true });
  await mkdir(dirs.workspace, { recursive: true });
  return dirs;
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * ECS's task metadata endpoint for one task, answering for the step container as the test runs it:
 * PENDING before it starts, RUNNING, then STOPPED with its exit code.
 */
async function metadataEndpoint() {
  let step: { KnownStatus: string; ExitCode?: number } = { KnownStatus: 'PENDING' };
  const server = createServer((request, response) => {
    expect(request.url).toBe('/v4/task');
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify({
        TaskARN: 'arn:aws:ecs:us-east-1:1:task/c/t',
        Containers: [{ Name: 'step', ...step }],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return {
    uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v4`,
    set(state: typeof step) {
      step = state;
    },
  };
}

/**
 * prepare, then the step container and the agent side by side, as ECS starts them. The step
 * container is a PID namespace of its own, as on Fargate, where the machine allows one.
 */
async function runStep(run: RunRecord, step: number, name: string) {
  const dirs = await dirsFor(name);
  const metadata = await metadataEndpoint();
  const env = { ...environment(run, step, dirs), ECS_CONTAINER_METADATA_URI_V4: metadata.uri };
  const prepared = await start(process.execPath, [bundle, 'prepare'], env).exited;
  expect(prepared, prepared.output).toMatchObject({ code: 0 });
  await db.store.runs.beginStep(run.runId, step, { at: Date.now(), requireRunning: true });
  const agent = start(process.execPath, [bundle, 'agent'], env);
  const [command, ...args] = [
    ...(detectContainment()?.prefix ?? []),
    '/bin/sh',
    join(dirs.finale, 'start.sh'),
  ];
  const container = start(command!, args, { PATH: process.env.PATH });
  metadata.set({ KnownStatus: 'RUNNING' });
  void container.exited.then(({ code }) => metadata.set({ KnownStatus: 'STOPPED', ExitCode: code ?? 137 }));
  return { dirs, env, prepared, agent, container };
}

describe('the step task program', () => {
  it('prepares, runs and reports a step; the next step gets its artifacts and output variables', async () => {
    const run = await newRun();
    const build = await runStep(run, 0, 'build');
    expect(build.prepared.output).toContain(
      `git clone file://${join(root, 'host')}/team/app.git at ${commit}`,
    );
    expect(build.prepared.output).not.toContain('x-access-token');
    expect(git(build.dirs.workspace, 'rev-parse', 'HEAD')).toBe(commit);
    expect(git(build.dirs.workspace, 'branch', '--show-current')).toBe('main');
    const env = await readFile(join(build.dirs.finale, 'env'), 'utf8');
    expect(env).toContain(`BITBUCKET_COMMIT='${commit}'`);
    expect(env).toContain("BITBUCKET_REPO_FULL_NAME='team/app'");
    expect(env).toContain("FINALE_STOP_GRACE='30'");

    const [agent, container] = await Promise.all([build.agent.exited, build.container.exited]);
    expect(container.output).toContain('hello from the repository');
    // The step container is a PID namespace of its own (as on Fargate) whose PID 1 is the supervisor.
    if (detectContainment()) expect(container.output).toMatch(/pid 1 is \/bin\/sh \S+\/supervisor\.sh/);
    expect(agent.code, agent.output).toBe(0);
    expect(agent.output).toContain('1 artifact file uploaded');
    const after = (await db.store.runs.get(run.runId))!;
    expect(after.outputs).toEqual({ VERSION: '1.2.3' });
    expect(after.steps['0']!.exitCode).toBe(0);
    expect([...aws.objects.keys()]).toContain(`artifacts/artifacts/${run.runId}/0.tar.gz`);

    const deploy = await runStep(run, 1, 'deploy');
    expect(deploy.prepared.output).toContain('artifacts of "Build" downloaded');
    const [deployAgent, deployContainer] = await Promise.all([deploy.agent.exited, deploy.container.exited]);
    expect(deployAgent.code, deployAgent.output).toBe(0);
    expect(deployContainer.output).toContain('built');
    expect(deployContainer.output).toContain('deploying 1.2.3 on main');
  });

  it('turns SIGTERM into an immediate stop when the run was stopped immediately: no after-script', async () => {
    const run = await newRun();
    const long = await runStep(run, 2, 'immediate');
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
    expect(container.output).not.toContain('after-script ran');
    expect(await readFile(join(long.dirs.finale, 'status'), 'utf8')).toMatch(
      /outcome=stopped .* stop=immediate/,
    );
  });

  it('turns SIGTERM into a graceful stop otherwise: one signal, then the after-script', async () => {
    const run = await newRun();
    const long = await runStep(run, 2, 'graceful');
    await until('the script to start', () => existsSync(join(long.dirs.workspace, 'started')));
    await until('the agent to watch', () => long.agent.output().includes('agent waiting for step 2'));
    long.agent.child.kill('SIGTERM');
    const [agent, container] = await Promise.all([long.agent.exited, long.container.exited]);
    expect(agent.code, agent.output).toBe(240);
    expect(container.output).toContain('long got TERM');
    expect(container.output).toContain('after-script ran');
    expect((await db.store.runs.get(run.runId))!.steps['2']!.exitCode).toBe(143);
  });

  it('ends the task with an error when the step container dies without a status (killed, out of memory)', async () => {
    const run = await newRun();
    const long = await runStep(run, 2, 'killed');
    await until('the script to start', () => existsSync(join(long.dirs.workspace, 'started')));
    long.container.child.kill('SIGKILL');
    const agent = await long.agent.exited;
    expect(agent.code, agent.output).toBe(242);
    expect(agent.output).toContain(
      'the step container ended without a status (killed, or out of memory; exit code',
    );
  });

  it('ends the task with an error when the step cannot be prepared', async () => {
    const run = await newRun();
    const dirs = await dirsFor('broken');
    const env = {
      ...environment(run, 0, dirs),
      [TASK_ENV.plan]: 'no-such-plan',
      ECS_CONTAINER_METADATA_URI_V4: (await metadataEndpoint()).uri,
    };
    const prepared = await start(process.execPath, [bundle, 'prepare'], env).exited;
    expect(prepared.code).toBe(1);
    expect(prepared.output).toContain('plan no-such-plan is not in the plans table');
    const agent = await start(process.execPath, [bundle, 'agent'], env).exited;
    expect(agent.code).toBe(242);
    expect(agent.output).toContain(
      'the step could not be prepared: plan no-such-plan is not in the plans table',
    );
  });
});
