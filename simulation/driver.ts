// Plays one schedule against the embedded engine: the real core, definitions, store (dynalite, in
// memory, outliving the engines as a disk would) and executions; steps simulated (world.ts) or real
// (real.ts). Engines are killed and replaced as the schedule says; a client follows each run through
// the API, across those replacements, as `finale run` does. What happened is collected for the
// invariants (invariants.ts).

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApi } from '../api/app';
import { ApiClient } from '../cli/client';
import { followRun } from '../cli/follow';
import { exitCodeOf } from '../cli/format';
import { type LocalDynamo, localDocumentClient, startDynalite } from '../local/dynalite';
import { type LocalHost, openLocalHost, repositoryIdentity } from '../local/host';
import { finalePaths } from '../local/paths';
import { controlDirs, killStep, livingSupervisor, processesOf } from '../local/step-processes';
import type { StepRunner } from '../local/step-runner';
import type { LockRecord, RunRecord } from '../store/records';
import { createStore, systemClock } from '../store/store';
import type { Caller } from '../vocabulary/contract';
import { realScript } from './real';
import { SimulatedRunner } from './runner';
import {
  type Behaviour,
  renderPipelines,
  SCALE,
  type Schedule,
  type ScheduleEvent,
  stepsOfPipeline,
} from './scenario';
import { World } from './world';

const CALLERS: Record<'admin' | 'dev', Caller> = {
  admin: { user: 'admin@simulation' },
  dev: { user: 'dev@simulation' },
};

export interface StopOutcome {
  readonly runId: string;
  readonly accepted: boolean;
  /** The run's phase the stop was accepted in, and whether it also ends the final step. */
  readonly phase?: RunRecord['phase'];
  readonly final?: boolean;
  readonly mode: string;
}

export interface Observation {
  readonly schedule: Schedule;
  readonly runs: readonly RunRecord[];
  readonly world?: World;
  /** For real schedules: the marker files, by name. */
  readonly markers: Readonly<Record<string, readonly string[]>>;
  /** For real schedules: the end of each run's final step log, by run id (what a violation shows). */
  readonly finalLogs: Readonly<Record<string, string>>;
  readonly stops: readonly StopOutcome[];
  readonly refusals: readonly string[];
  /** When engines died or were stopped: from the moment they were told to, to the moment they had (ms since the epoch). */
  readonly crashes: readonly { readonly from: number; readonly to: number; readonly engine: string }[];
  /** The engine each run was started on (a start in flight when it goes lands afterwards). */
  readonly startedOn: ReadonlyMap<string, string>;
  /** Why starts failed (their engine went away during them). */
  readonly startErrors: readonly string[];
  readonly locks: readonly LockRecord[];
  /** Step processes still alive at the end. */
  readonly leftovers: number;
  /** What each run's client ended with: the status it saw and the exit code `finale run` gives. */
  readonly clients: ReadonlyMap<
    string,
    { readonly status: string; readonly exitCode: number } | { readonly error: string }
  >;
  /** Runs that had not ended when the schedule timed out. */
  readonly unfinished: readonly string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PlayOptions {
  readonly timeoutMs?: number;
  /** The simulated steps' runner (the checker's tests give a broken one). */
  readonly runner?: (world: World, behaviourOf: (step: string) => Behaviour) => StepRunner;
  /**
   * The store to use, shared with other schedules (each has a repository of its own, so none sees
   * another's runs, locks or settings); left open. Default: a dynalite of its own.
   */
  readonly dynamo?: LocalDynamo;
}

export async function playSchedule(schedule: Schedule, options: PlayOptions = {}): Promise<Observation> {
  const root = await mkdtemp(join(tmpdir(), 'finale-simulation-'));
  const markers = join(root, '.markers');
  await mkdir(markers);
  const paths = finalePaths(root);
  const behaviours = new Map<string, Behaviour>();
  for (const pipeline of schedule.pipelines)
    for (const step of stepsOfPipeline(pipeline)) behaviours.set(step.name, step.behaviour);
  await writeFile(
    join(root, 'bitbucket-pipelines.yml'),
    renderPipelines(schedule, (step) => (schedule.real ? realScript(step) : { script: ['true'] })),
  );
  const dynamo: LocalDynamo = options.dynamo ?? (await startDynalite());
  const world = schedule.real ? undefined : new World();
  const repository = repositoryIdentity(root).key;
  const observerClient = localDocumentClient(dynamo);
  const observer = createStore({
    client: observerClient,
    tables: dynamo.tables,
    clock: systemClock,
  });

  let host: LocalHost | undefined;
  let opening: Promise<LocalHost> | undefined;
  const open = () => {
    opening = openLocalHost({
      paths,
      leaseSeconds: 0.5,
      minuteSeconds: SCALE.minuteSeconds,
      environment: { ...process.env, MARKERS: markers },
      seams: {
        dynamo,
        retryIntervalMs: 20,
        async snapshot(_root, into) {
          await mkdir(into, { recursive: true });
          return { commit: 'c0ffee0000000000000000000000000000000000', branch: 'main' };
        },
        ...(world
          ? {
              runner: () =>
                (options.runner ?? ((w, of) => new SimulatedRunner(w, of, SCALE.minuteSeconds)))(
                  world,
                  (name) => behaviours.get(name)!,
                ),
            }
          : {}),
      },
    }).then((opened) => {
      host = opened;
      return opened;
    });
    return opening;
  };
  /** The engine now, waiting for one that is being started. */
  const current = async () => {
    for (;;) {
      if (host) return host;
      if (opening) await opening;
      else await sleep(5);
    }
  };

  // Stored as they are, in one write: setting them one by one through the core (checked, audited:
  // tested on its own) cost an eighth of a schedule's requests.
  await observer.settings.update(repository, {
    admins: [CALLERS.admin.user],
    stopPolicy: schedule.settings.stopPolicy,
    gracefulStop: schedule.settings.gracefulStop,
    stopTimeout: schedule.settings.stopTimeoutSeconds,
  });
  await open();

  // The client `finale run` is: it follows its run through the API, whichever engine serves it.
  const clients = new Map<string, { status: string; exitCode: number } | { error: string }>();
  const following: Promise<void>[] = [];
  // A client still following when the schedule ends (its run never ended) stops then.
  const unfollow = new AbortController();
  // The server's API, one per engine, as each server has one.
  const apps = new WeakMap<LocalHost, ReturnType<typeof createApi>>();
  const client = new ApiClient({
    description: 'the simulated local server',
    async request(method, path, body) {
      const engine = await current();
      const app =
        apps.get(engine) ??
        createApi({
          core: engine.core,
          authenticate: () => CALLERS.dev,
          defaultRepository: repository,
          runs: engine.runs,
          logs: engine.logs,
        });
      apps.set(engine, app);
      return app.request(path, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    },
  });
  const follow = (runId: string) =>
    following.push(
      followRun(client, runId, {}, { signal: unfollow.signal }).then(
        (run) => {
          clients.set(runId, { status: run.status, exitCode: exitCodeOf(run.status) });
        },
        (error: Error) => {
          clients.set(runId, { error: error.message });
        },
      ),
    );

  const started: (string | undefined)[] = [];
  const stops: StopOutcome[] = [];
  const refusals: string[] = [];
  const crashes: { from: number; to: number; engine: string }[] = [];
  const startedOn = new Map<string, string>();
  const startErrors: string[] = [];
  const t0 = Date.now();
  const at = (ms: number) => sleep(Math.max(0, t0 + ms - Date.now()));

  const starting = schedule.runs.map(async (plan, index) => {
    await at(plan.at);
    const engine = await current();
    try {
      const run = (
        await engine.runs.start({
          repository,
          file: 'bitbucket-pipelines.yml',
          pipeline: `custom:${plan.pipeline}`,
          variables: {},
          caller: CALLERS.dev,
        })
      ).run;
      started[index] = run.runId;
      startedOn.set(run.runId, engine.instance);
      // One client per schedule: following costs a read every few milliseconds.
      if (index === 0) follow(run.runId);
    } catch (error) {
      // The engine died while starting it: the run may exist all the same; the store says.
      startErrors.push((error as Error).message);
    }
  });

  const apply = async (event: ScheduleEvent) => {
    const engine = await current();
    if (event.kind === 'crash') {
      host = undefined;
      opening = undefined;
      const from = Date.now();
      await (event.how === 'kill' ? engine.abandon() : engine.close());
      crashes.push({ from, to: Date.now(), engine: engine.instance });
      await sleep(event.downMs);
      await open();
      return;
    }
    const runId = started[event.run];
    if (!runId) return;
    if (event.kind === 'kill-step') {
      await killRunningStep(runId, event.nth);
      return;
    }
    const caller = CALLERS[event.by];
    if (event.kind === 'stop') {
      try {
        const result = await engine.core.stop({ runId, caller, mode: event.mode });
        stops.push({
          runId,
          accepted: true,
          phase: result.run.phase,
          ...(result.run.stop?.final ? { final: true } : {}),
          mode: result.mode,
        });
      } catch {
        stops.push({ runId, accepted: false, mode: event.mode });
      }
    } else {
      const decide = event.kind === 'approve' ? engine.core.approve : engine.core.refuse;
      try {
        await decide({ runId, caller });
        if (event.kind === 'refuse') refusals.push(runId);
      } catch {
        // Not waiting for an approval (yet, or any more).
      }
    }
  };
  const killRunningStep = async (runId: string, nth: number) => {
    if (world) {
      const running = world.running(runId);
      running[nth % Math.max(1, running.length)]?.kill();
      return;
    }
    const live: number[] = [];
    for (const dir of (await controlDirs(paths, runId)).values()) {
      const pid = await livingSupervisor(dir);
      if (pid !== undefined) live.push(pid);
    }
    const pid = live[nth % Math.max(1, live.length)];
    try {
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    } catch {
      // It ended meanwhile: nothing to kill.
    }
  };

  const events = (async () => {
    for (const event of schedule.events) {
      await at(event.at);
      await apply(event);
    }
  })();
  await Promise.all([...starting, events]);

  // A user eventually answers every approval; then every run must end.
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let unfinished: RunRecord[] = [];
  for (;;) {
    const { items } = await observer.runs.list(repository, { limit: 50 });
    unfinished = items.filter((run) => run.phase !== 'done');
    if (unfinished.length === 0 || Date.now() > deadline) break;
    for (const run of unfinished) {
      if (run.status === 'PAUSED' && run.waiting?.kind === 'approval') {
        await (await current()).core
          .approve({ runId: run.runId, caller: CALLERS.admin })
          .catch(() => undefined);
      }
    }
    await sleep(100);
  }
  await Promise.race([Promise.all(following), sleep(5000)]);
  unfollow.abort();
  await Promise.all(following);

  const runs = (await observer.runs.list(repository, { limit: 50 })).items;
  const locks = await observer.locks.list(repository);
  let leftovers = 0;
  if (world) {
    leftovers = world.running().length;
  } else {
    for (const run of runs) {
      for (const dir of (await controlDirs(paths, run.runId)).values()) {
        const left = (await processesOf(dir)).length;
        leftovers += left;
        if (left > 0) await killStep(dir);
      }
    }
  }
  const markerFiles: Record<string, string[]> = {};
  for (const name of await readdir(markers)) {
    markerFiles[name] = (await readFile(join(markers, name), 'utf8')).split('\n').filter(Boolean);
  }
  const finalLogs: Record<string, string> = {};
  for (const run of world ? [] : runs) {
    const final = Object.values(run.steps).find((step) => step.kind === 'final');
    if (!final) continue;
    const log = await readFile(paths.run(run.runId).log(final.index), 'utf8').catch(() => '(no log)');
    finalLogs[run.runId] = log.slice(-600);
  }
  for (const task of world?.running() ?? []) task.kill();
  await (await current()).close();
  observerClient.destroy();
  if (!options.dynamo) await dynamo.close();
  await rm(root, { recursive: true, force: true });
  return {
    schedule,
    runs,
    ...(world ? { world } : {}),
    markers: markerFiles,
    finalLogs,
    stops,
    refusals,
    crashes,
    startedOn,
    startErrors,
    locks,
    leftovers,
    clients,
    unfinished: unfinished.map((run) => run.runId),
  };
}
