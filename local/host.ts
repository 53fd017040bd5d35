// The embedded engine, assembled: the persisted dynalite store, the core, the token registry, the
// process runner and aws-local-stepfunctions executions — owned by one process (`finale serve`).
// It keeps a lease on the runs it executes and adopts the runs of an engine that went away.

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { controlRequestOf } from '../aws/ecs-task';
import type { Core } from '../core/index';
import { createCore, createPlanSource } from '../core/index';
import type { LogReader, RunStarter } from '../core/ports';
import { braceUuid, type RepositoryIdentity } from '../core/variables';
import { deploymentEnvironments, parsePipelineFile } from '../statemachine/language/index';
import { pipelineCompiler } from '../statemachine/pipelines';
import { createStore, systemClock } from '../store/store';
import type { ControlPayload } from '../vocabulary/contract';
import { FinaleError } from '../vocabulary/errors';
import { lockDatabase } from './database-lock';
import { type LocalDynamo, localDocumentClient, startDynalite } from './dynalite';
import { Executions } from './executions';
import { sweepHome } from './housekeeping';
import { localLogReader } from './logs';
import { OrphanAdopter, renewLeases } from './orphans';
import { ensureHome, type FinalePaths } from './paths';
import { localRunStarter } from './run-starter';
import type { StepRunner } from './step-runner';
import { LocalTaskRunner, type TaskRunnerOptions } from './task-runner';
import { TaskTokens } from './tokens';
import { createUpkeep } from './upkeep';
import { defaultKeyFile, localVault } from './vault';
import type { Snapshot } from './workspace';

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
  /** How many finished runs keep their logs, history and artifacts (housekeeping.ts). */
  readonly keepRuns?: number;
  /** The local vault's key file (default: FINALE_KEY_FILE, else ~/.config/finale/variables.key). */
  readonly keyFile?: string;
  /** Seams for tests and the fault simulation (simulation/); a server sets none of them. */
  readonly seams?: HostSeams;
}

export interface HostSeams {
  /** Called before each control action runs (fault injection: the engine dies there). */
  readonly beforeControl?: (payload: ControlPayload) => void | Promise<void>;
  /** What runs the steps, instead of supervisor processes. */
  readonly runner?: (options: TaskRunnerOptions) => StepRunner;
  /** A store kept by the caller, instead of dynalite under .finale/db: it outlives the host, as a disk would. */
  readonly dynamo?: LocalDynamo;
  /** The run's commit, instead of a git snapshot of the working tree. */
  readonly snapshot?: (root: string, into: string) => Promise<Snapshot>;
  /** Milliseconds each Retry of the definition waits, instead of its IntervalSeconds. */
  readonly retryIntervalMs?: number;
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
  /**
   * Stops serving and hands the runs in flight over: their steps go on running, their leases end
   * now, and the next engine adopts them at once — as it would after a crash, without the wait.
   */
  close(): Promise<void>;
  /**
   * Stops at once, as a crash would: nothing more is written, no lease is handed over (the runs are
   * adopted once their leases run out), the steps go on. For tests and the fault simulation.
   */
  abandon(): Promise<void>;
}

/** The store under .finale/db, one server at a time (database-lock.ts); or the one given, left open. */
async function openStore(
  paths: FinalePaths,
  given: LocalDynamo | undefined,
): Promise<{ dynamo: LocalDynamo; release: () => Promise<void> }> {
  if (given) return { dynamo: given, release: async () => undefined };
  const lock = await lockDatabase(paths);
  try {
    const dynamo = await startDynalite({ path: paths.db });
    return {
      dynamo,
      async release() {
        await dynamo.close();
        await lock.release();
      },
    };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

export function repositoryIdentity(root: string): RepositoryIdentity & { readonly key: string } {
  const slug = basename(root) || 'repository';
  return { workspace: 'local', slug, uuid: braceUuid('repository', root), key: `local/${slug}` };
}

/**
 * The engine's store over dynalite. Once the engine is severed, whatever of it is still in flight
 * writes nothing more, as after a crash: a run it was finishing is finished by the engine that
 * adopts it.
 */
async function openEngineStore(paths: FinalePaths, given: LocalDynamo | undefined) {
  let severed = false;
  const inFlight = new Set<Promise<unknown>>();
  const { dynamo, release } = await openStore(paths, given);
  const client = localDocumentClient(dynamo);
  client.middlewareStack.add(
    (next) => async (args) => {
      if (severed) throw new FinaleError('this engine has stopped');
      const request = next(args);
      inFlight.add(request);
      try {
        return await request;
      } finally {
        inFlight.delete(request);
      }
    },
    { step: 'initialize', name: 'stoppedEngine' },
  );
  return {
    dynamo,
    store: createStore({ client, tables: dynamo.tables, clock: systemClock }),
    severed: () => severed,
    sever() {
      severed = true;
    },
    async release() {
      // Dynalite rejects a request it is answering when its database closes, and nobody hears it.
      await Promise.allSettled(inFlight);
      // Its keep-alive connections would hold a process that lives on (a test, the simulation) open.
      client.destroy();
      await release();
    },
  };
}

/**
 * The environments the project's pipeline file names, so deployment variables can be set before the
 * first run. A missing or invalid file records nothing: its problems are reported when a run starts.
 */
async function recordProjectEnvironments(root: string, repository: string, core: Core): Promise<void> {
  const text = await readFile(join(root, 'bitbucket-pipelines.yml'), 'utf8').catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    },
  );
  if (text === undefined) return;
  const read = parsePipelineFile(text, 'bitbucket-pipelines.yml');
  if (read.ok) await core.recordEnvironments(repository, deploymentEnvironments(read.file));
}

export async function openLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { paths } = options;
  const leaseSeconds = options.leaseSeconds ?? 5;
  ensureHome(paths);
  const identity = repositoryIdentity(paths.root);
  const engine = { instance: randomUUID(), leaseSeconds, repository: identity.key };
  const seams = options.seams ?? {};
  const { dynamo, store, sever, severed, release } = await openEngineStore(paths, seams.dynamo);
  const tokens = new TaskTokens();
  const runnerOptions: TaskRunnerOptions = {
    paths,
    repository: identity,
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.minuteSeconds ? { minuteSeconds: options.minuteSeconds } : {}),
  };
  const tasks = seams.runner ? seams.runner(runnerOptions) : new LocalTaskRunner(runnerOptions);
  const core = createCore({
    store,
    orchestrator: tokens,
    tasks,
    clock: systemClock,
    plans: createPlanSource(store),
    pipelines: pipelineCompiler,
    vault: localVault(options.keyFile ?? defaultKeyFile(options.environment ?? process.env)),
  });
  tasks.attach(core);
  await recordProjectEnvironments(paths.root, identity.key, core);

  const upkeep = createUpkeep();
  const sweep = () => sweepHome(paths, core, identity.key, options.keepRuns);
  const control = async (payload: ControlPayload) => {
    await seams.beforeControl?.(payload);
    return core.control(controlRequestOf(payload));
  };
  const handlers = {
    control,
    tokens,
    tasks,
    ...(seams.retryIntervalMs !== undefined ? { retryIntervalMs: seams.retryIntervalMs } : {}),
  };
  const executions = new Executions(paths, handlers, (runId) => {
    tasks.forget(runId);
    void upkeep.run('housekeeping', sweep);
  });
  const orphans = new OrphanAdopter(
    engine,
    core,
    tasks,
    executions,
    (work) => void upkeep.run('adoption', work),
  );

  const runs = localRunStarter({
    paths,
    repository: identity.key,
    engine,
    core,
    tasks,
    executions,
    ...(seams.snapshot ? { snapshot: seams.snapshot } : {}),
  });

  // Orphans appear when a server dies: they are looked for at start, when a dead owner's lease runs
  // out, and now and then.
  await upkeep.run('adoption', () => orphans.sweep());
  void upkeep.run('housekeeping', sweep);
  const renewTimer = setInterval(
    () => void upkeep.run('lease renewal', () => renewLeases(engine, core, executions)),
    Math.max(250, (leaseSeconds * 1000) / 3),
  );
  // Now and then too: a dying engine may still create a run after this one's first sweep.
  const adoptTimer = setInterval(
    () => void upkeep.run('adoption', () => orphans.sweep()),
    Math.max(1000, leaseSeconds * 2000),
  );
  renewTimer.unref();
  adoptTimer.unref();

  return {
    instance: engine.instance,
    repository: identity.key,
    core,
    runs,
    logs: localLogReader(paths),
    dynamo,
    active: () => executions.size,
    settled: (runId) => executions.settled(runId),
    async close() {
      const handedOver = stop();
      await upkeep.idle();
      // A run finished meanwhile, or adopted already, has nothing to hand over.
      await Promise.all(handedOver.map((runId) => core.releaseEngineLease(runId, engine.instance)));
      sever();
      await release();
    },
    async abandon() {
      stop();
      sever();
      await release();
    },
  };

  /** Stops every timer and execution; returns the runs that were in flight. */
  function stop(): string[] {
    upkeep.stop(severed);
    clearInterval(renewTimer);
    clearInterval(adoptTimer);
    orphans.close();
    const inFlight = executions.ids();
    executions.fenceAll();
    tasks.detach();
    return inFlight;
  }
}
