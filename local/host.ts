// The embedded engine, assembled: the persisted dynalite store, the core, the token registry, the
// process runner and aws-local-stepfunctions executions — owned by one process (`finale serve`).
// It keeps a lease on the runs it executes and adopts the runs of an engine that went away.

import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import type { LogReader, RunStarter, StartRunRequest } from '../api/app';
import { UsageError } from '../core/errors';
import type { Core } from '../core/index';
import { createCore, createPlanSource } from '../core/index';
import { type Executor, startPipeline } from '../core/start';
import { braceUuid, type RepositoryIdentity } from '../core/variables';
import type { Plan } from '../statemachine/compiler/plan';
import { pickPipeline } from '../statemachine/language/pick';
import { createDocumentClient } from '../store/client';
import type { RunRecord } from '../store/records';
import { createStore, systemClock } from '../store/store';
import { changedSinceUpstream } from './changes';
import { LOCAL_CREDENTIALS, LOCAL_REGION, type LocalDynamo, startDynalite } from './dynalite';
import { localExecutionInput, startExecution } from './engine';
import { killLeftovers } from './leftovers';
import { ensureHome, type FinalePaths } from './paths';
import { LocalTaskRunner } from './task-runner';
import { TaskTokens } from './tokens';
import { snapshotWorkingTree } from './workspace';

export interface LocalHostOptions {
  readonly paths: FinalePaths;
  /** Seconds a run's lease lasts without renewal; another engine adopts the run after that. */
  readonly leaseSeconds?: number;
  readonly environment?: NodeJS.ProcessEnv;
  /**
   * How long one minute of max-time lasts, in seconds (default 60). Only tests and demos shorten it,
   * to watch a max-time stop without waiting a real minute; FINALE_MINUTE_SECONDS sets it for a server.
   */
  readonly minuteSeconds?: number;
}

export interface LocalHost {
  readonly instance: string;
  readonly repository: string;
  readonly core: Core;
  readonly runs: RunStarter;
  readonly logs: LogReader;
  readonly dynamo: LocalDynamo;
  /** Settles when the run's current execution ends (for tests and `finale run`). */
  settled(runId: string): Promise<void>;
  /** Executions in flight. */
  active(): number;
  close(): Promise<void>;
}

export function repositoryIdentity(root: string): RepositoryIdentity & { readonly key: string } {
  const slug = basename(root) || 'repository';
  return { workspace: 'local', slug, uuid: braceUuid('repository', root), key: `local/${slug}` };
}

export async function openLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { paths } = options;
  const leaseSeconds = options.leaseSeconds ?? 5;
  ensureHome(paths);
  const identity = repositoryIdentity(paths.root);
  const instance = randomUUID();
  const dynamo = await startDynalite({ path: paths.db });
  const store = createStore({
    client: createDocumentClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }),
    tables: dynamo.tables,
    clock: systemClock,
  });
  const tokens = new TaskTokens();
  const tasks = new LocalTaskRunner({
    paths,
    repository: identity,
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.minuteSeconds ? { minuteSeconds: options.minuteSeconds } : {}),
  });
  const core = createCore({
    store,
    orchestrator: tokens,
    tasks,
    clock: systemClock,
    plans: createPlanSource(store),
  });
  tasks.attach(core);

  const executions = new Map<string, { readonly done: Promise<unknown> }>();
  const engine = () => ({ instance, leaseUntil: Date.now() + leaseSeconds * 1000 });

  const execute = (run: RunRecord, plan: Plan, recover = false) => {
    // One append stream per execution: opening the file for every event would cost more than the event.
    const history = createWriteStream(paths.run(run.runId).history, { flags: 'a' });
    history.on('error', () => undefined);
    const started = startExecution(plan.definition, localExecutionInput(run.runId, plan, { recover }), {
      control: (request) => core.control(request),
      tokens,
      tasks,
      onEvent: (event) => {
        history.write(`${JSON.stringify(event)}\n`);
      },
    });
    // Done once every event is on disk.
    const execution = {
      done: started.done.finally(() => new Promise<void>((flushed) => history.end(flushed))),
    };
    executions.set(run.runId, execution);
    void execution.done.finally(() => {
      if (executions.get(run.runId) !== execution) return;
      executions.delete(run.runId);
      tasks.forget(run.runId);
    });
  };
  const executor: Executor = {
    async start(run, plan) {
      execute(run, plan);
    },
  };

  const runs: RunStarter = {
    async start(request: StartRunRequest) {
      const file = resolve(paths.root, request.file);
      if (relative(paths.root, file).startsWith('..')) {
        throw new UsageError(`${request.file} is outside the repository ${paths.root}`);
      }
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(
          `cannot read ${request.file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
        );
      });
      // The working tree as it stands is the run's commit; it is checked out once per run.
      const pending = join(paths.home, 'tmp', randomUUID());
      await mkdir(join(paths.home, 'tmp'), { recursive: true });
      const snapshot = await snapshotWorkingTree(paths.root, pending);
      const branch = request.branch ?? snapshot.branch;
      const custom = request.pipeline?.startsWith('custom:');
      const changedFiles = snapshot.git
        ? await changedSinceUpstream(paths.root, snapshot.commit, snapshot.branch)
        : undefined;
      try {
        return await startPipeline(
          {
            repository: identity.key,
            source: { text, path: request.file },
            trigger: {
              kind: custom ? 'custom' : 'branch',
              ref: custom ? request.pipeline!.slice('custom:'.length) : (branch ?? 'HEAD'),
              commit: snapshot.commit,
              ...(branch ? { branch } : {}),
            },
            choose: (parsed) =>
              pickPipeline(parsed, {
                ...(request.pipeline ? { key: request.pipeline } : {}),
                ...(branch ? { branch } : {}),
                variables: request.variables,
              }),
            caller: request.caller,
            ...(changedFiles ? { changedFiles } : {}),
            engine: engine(),
          },
          {
            store,
            clock: systemClock,
            executor: {
              async start(run, plan) {
                const runPaths = paths.run(run.runId);
                await mkdir(runPaths.dir, { recursive: true });
                await rename(pending, runPaths.source);
                if (request.environment) tasks.setEnvironment(run.runId, request.environment);
                await executor.start(run, plan);
              },
            },
          },
        );
      } finally {
        await rm(pending, { recursive: true, force: true });
      }
    },
  };

  const logs: LogReader = {
    async read(run, step, offset) {
      const file = paths.run(run.runId).log(step);
      const buffer = await readFile(file).catch(() => Buffer.alloc(0));
      const text = buffer.subarray(Math.min(offset, buffer.length)).toString('utf8');
      const status = run.steps[String(step)]?.status;
      const ended = status !== undefined && !['PENDING', 'WAITING', 'RUNNING'].includes(status);
      return { text, next: buffer.length, complete: ended && offset >= buffer.length };
    },
  };

  // Adopting orphans: kill what is left of their steps, then run their final step and release
  // their locks through a recovery execution of the same definition. Orphans appear when a server
  // dies, so they are looked for at start, when a dead owner's lease runs out, and now and then.
  const waiting = new Map<string, NodeJS.Timeout>();
  const adopt = async () => {
    for (const run of await core.deps.store.runs.listUnfinished()) {
      if (executions.has(run.runId) || !run.engine || run.engine.instance === instance) continue;
      const left = run.engine.leaseUntil - Date.now();
      if (left >= 0) {
        if (!waiting.has(run.runId)) {
          const timer = setTimeout(() => {
            waiting.delete(run.runId);
            void guarded(adopt);
          }, left + 50);
          timer.unref();
          waiting.set(run.runId, timer);
        }
        continue;
      }
      const claimed = await core.claimOrphan(run.runId, { instance, leaseSeconds });
      if (!claimed) continue;
      await killLeftovers(run, paths);
      const plan = await core.deps.plans.get(claimed.planHash);
      execute(claimed, plan, true);
    }
  };
  // Leases of this server's own runs, renewed from memory: no table scan on the hot path.
  const renew = async () => {
    const leaseUntil = Date.now() + leaseSeconds * 1000;
    await Promise.all(
      [...executions.keys()].map((runId) =>
        core.deps.store.runs.renewEngineLease(runId, instance, leaseUntil).catch(() => undefined),
      ),
    );
  };
  let chain = Promise.resolve();
  const guarded = (work: () => Promise<void>) => {
    chain = chain.then(work).catch((error) => console.error('finale: lease upkeep failed:', error));
    return chain;
  };
  await guarded(adopt);
  const renewTimer = setInterval(() => void guarded(renew), Math.max(250, (leaseSeconds * 1000) / 3));
  const adoptTimer = setInterval(() => void guarded(adopt), 60_000);
  renewTimer.unref();
  adoptTimer.unref();

  return {
    instance,
    repository: identity.key,
    core,
    runs,
    logs,
    dynamo,
    active: () => executions.size,
    async settled(runId) {
      await executions.get(runId)?.done;
    },
    /**
     * Stops serving. Steps still running are killed, not left behind: their runs become orphans that
     * the next server adopts (it runs their final steps and releases their locks).
     */
    async close() {
      await Promise.all([...executions.keys()].map((runId) => killLeftovers({ runId }, paths)));
      clearInterval(renewTimer);
      clearInterval(adoptTimer);
      for (const timer of waiting.values()) clearTimeout(timer);
      await chain;
      await dynamo.close();
    },
  };
}
