// Test harness: the step task's program, bundled as it ships and run as local processes — `prepare`,
// then the step container's start.sh (the real supervisor) next to `agent` — against dynalite, a local
// git repository as the host, and a local stand-in for S3 and Secrets Manager (fake-aws.ts). A test
// file that needs KMS too passes its endpoint (moto) in `environment`.
//
//   const task = useStepTask(() => planOfYaml(…));      // registers beforeAll/afterAll
//   const run = await task.newRun();
//   const step = await task.runStep(run, 0, 'build');

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { LAMBDA_ENV } from '../../aws/config';
import { createRun } from '../../core/runs';
import { type Plan, TASK_ENV } from '../../statemachine/compiler/plan';
import type { RunRecord } from '../../store/records';
import { detectContainment } from '../../supervisor/containment';
import { type TestDynalite, useDynalite } from '../support/dynalite';
import { type FakeAws, startFakeAws } from './fake-aws';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:host';

export const git = (cwd: string, ...args: string[]) =>
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

interface Exited {
  code: number | null;
  output: string;
}

export interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<Exited>;
  output(): string;
}

export function start(command: string, args: string[], env: NodeJS.ProcessEnv): Started {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<Exited>((resolve) => child.on('close', (code) => resolve({ code, output })));
  return { child, exited, output: () => output };
}

export async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What ECS sets from the definition's `secrets`: the step container's variables, the agent's FINALE_MASK_ ones. */
export interface EcsSecrets {
  readonly step?: NodeJS.ProcessEnv;
  readonly agent?: NodeJS.ProcessEnv;
}

export function useStepTask(plan: () => Plan, options: { environment?: () => NodeJS.ProcessEnv } = {}) {
  const db: TestDynalite = useDynalite();
  let aws: FakeAws;
  let root: string;
  let bundle: string;
  let commit: string;
  const servers: Server[] = [];

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
  afterAll(async () => {
    for (const server of servers) server.close();
    await aws?.close();
    await rm(root, { recursive: true, force: true });
  });

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
      [LAMBDA_ENV.variablesKeyArn]: 'arn:aws:kms:us-east-1:123456789012:key/none-in-this-test',
      [LAMBDA_ENV.resourcePrefix]: 'finale',
      [TASK_ENV.runId]: run.runId,
      [TASK_ENV.step]: String(step),
      [TASK_ENV.plan]: run.planHash,
      FINALE_DIR: dirs.finale,
      FINALE_WORKSPACE: dirs.workspace,
      ...options.environment?.(),
    };
  }

  async function newRun(): Promise<RunRecord> {
    const run = await createRun(
      {
        plan: plan(),
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
  async function runStep(run: RunRecord, step: number, name: string, secrets: EcsSecrets = {}) {
    const dirs = await dirsFor(name);
    const metadata = await metadataEndpoint();
    const env = { ...environment(run, step, dirs), ECS_CONTAINER_METADATA_URI_V4: metadata.uri };
    const prepared = await start(process.execPath, [bundle, 'prepare'], env).exited;
    expect(prepared, prepared.output).toMatchObject({ code: 0 });
    await db.store.runs.beginStep(run.runId, step, { at: Date.now(), requireRunning: true });
    const agent = start(process.execPath, [bundle, 'agent'], { ...env, ...secrets.agent });
    const [command, ...args] = [
      ...(detectContainment()?.prefix ?? []),
      '/bin/sh',
      join(dirs.finale, 'start.sh'),
    ];
    const container = start(command!, args, { PATH: process.env.PATH, ...secrets.step });
    metadata.set({ KnownStatus: 'RUNNING' });
    void container.exited.then(({ code }) => metadata.set({ KnownStatus: 'STOPPED', ExitCode: code ?? 137 }));
    return { dirs, env, prepared, agent, container };
  }

  return {
    db,
    get aws() {
      return aws;
    },
    get root() {
      return root;
    },
    get bundle() {
      return bundle;
    },
    get commit() {
      return commit;
    },
    environment,
    newRun,
    dirsFor,
    metadataEndpoint,
    runStep,
  };
}
