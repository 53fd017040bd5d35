// The embedded engine's stand-in for ECS: a step's "task" is the step supervisor run as a local
// process, in a workspace of its own and — where the machine allows — as PID 1 of a PID namespace of
// its own, as a container would run it. It reports to the core exactly what the AWS side reports from
// ECS events (task started, task ended with exit code and outputs) and answers with an ECS-shaped
// task object, so the compiled definition and completeStep see the same thing on both engines.

import { appendFile, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Core } from '../core/index';
import { taskStopMode } from '../core/stop';
import { securedOutputNames } from '../core/variable-rules';
import { bitbucketVariables, type RepositoryIdentity } from '../core/variables';
import type { Plan, StepSpec } from '../statemachine/compiler/plan';
import { AFTER_SCRIPT_SECONDS } from '../statemachine/compiler/specs';
import type { RunRecord } from '../store/records';
import { type Containment, detectContainment, UNCONTAINED_NOTICE } from '../supervisor/containment';
import { SUPERVISOR_FILES } from '../supervisor/contract';
import { Masker, type SecuredValue } from '../supervisor/masking';
import { type SupervisorProcess, startSupervisor } from '../supervisor/start';
import type { StopMode, TaskInspection } from '../vocabulary/contract';
import type { StepTaskRequest } from './engine';
import type { FinalePaths } from './paths';
import { controlDirs, endStep, inspectStep, livingSupervisor, recordSupervisorPid } from './step-processes';
import { endedInspection, reportTaskEnd, type StepRunner } from './step-runner';
import { collectArtifacts, prepareWorkspace } from './workspace';

interface RunningTask {
  readonly runId: string;
  readonly supervisor: SupervisorProcess;
  readonly backstop: NodeJS.Timeout;
  stop?: { readonly mode: Exclude<StopMode, 'drain'>; readonly reason: string };
}

export interface TaskRunnerOptions {
  readonly paths: FinalePaths;
  readonly repository: RepositoryIdentity;
  /** The environment steps inherit (the user's shell); Bitbucket's variables are added to it. */
  readonly environment?: NodeJS.ProcessEnv;
  /** Keep step workspaces after the step (for debugging); they are removed by default. */
  readonly keepWorkspaces?: boolean;
  /** Seconds in a max-time minute (default 60; see LocalHostOptions.minuteSeconds). */
  readonly minuteSeconds?: number;
}

/**
 * What a local step receives besides Bitbucket's variables: the environment of the shell that started
 * the run without Finale's own settings (FINALE_*: the supervisor's contract, the key file, the
 * server's), then the stored repository and deployment variables, secured ones revealed; and the
 * values to mask, theirs and those of secured output variables of earlier steps.
 */
async function stepEnvironment(
  core: Core,
  run: RunRecord,
  spec: StepSpec,
  environment: NodeJS.ProcessEnv,
): Promise<{
  readonly env: Record<string, string>;
  readonly outputs: Record<string, string>;
  readonly secured: readonly SecuredValue[];
}> {
  const [stored, outputs] = await Promise.all([core.storedVariablesFor(run, spec), core.runOutputs(run)]);
  const revealed = await Promise.all(
    stored.secured.map(async ({ name, reference }) => ({ name, value: await core.reveal(reference) })),
  );
  const inherited = Object.entries(environment).filter(
    (entry): entry is [string, string] => !entry[0].startsWith('FINALE_') && entry[1] !== undefined,
  );
  return {
    env: {
      ...Object.fromEntries(inherited),
      ...stored.plain,
      ...Object.fromEntries(revealed.map(({ name, value }) => [name, value])),
    },
    outputs: {
      ...outputs.plain,
      ...Object.fromEntries(outputs.secured.map(({ name, value }) => [name, value])),
    },
    secured: [...revealed, ...outputs.secured],
  };
}

async function maskFile(path: string, secured: readonly SecuredValue[]): Promise<void> {
  const text = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return;
  const masker = new Masker(secured);
  await writeFile(path, Buffer.concat([masker.write(text), masker.end()]));
}

/** FINALE_CONTAINMENT=off in the environment a run is started from runs its steps uncontained. */
const CONTAINMENT_SETTING = 'FINALE_CONTAINMENT';

function earlierSteps(steps: readonly StepSpec[], spec: StepSpec): StepSpec[] {
  // Parallel siblings run at the same time: a step sees artifacts of the steps before its group.
  const first = spec.group?.kind === 'parallel' ? spec.index - spec.group.index : spec.index;
  return steps.filter((step) => step.index < first && !step.skipped);
}

const taskIdOf = (pid: number) => `local:${pid}`;

/** How long a leftover step may take to stop: its grace and its after-script, and a margin. */
function stopBudgetMs(spec: Plan['steps'][number]): number {
  const grace = spec.stop.graceful ? spec.stop.graceSeconds : 0;
  return (grace + AFTER_SCRIPT_SECONDS + 10) * 1000;
}

/**
 * Ends the pipeline steps an orphan left running (its final step is the recovery's to await) and
 * notes what became of each.
 */
async function endLeftovers(run: RunRecord, plan: Plan, paths: FinalePaths, core: Core): Promise<void> {
  const mode = run.stop?.mode === 'immediate' ? 'immediate' : 'graceful';
  const dirs = await controlDirs(paths, run.runId);
  await Promise.all(
    [...dirs].map(async ([index, dir]) => {
      const spec = plan.steps[index];
      if (!spec || spec.kind === 'final') return;
      const ended = await endStep(dir, mode, stopBudgetMs(spec));
      // The engine that died may not have masked the output-variables file its step wrote in plain.
      const { secured } = await stepEnvironment(core, run, spec, {});
      if (secured.length) await maskFile(join(dir, SUPERVISOR_FILES.outputVariables), secured);
      if (ended === 'none') return;
      const how =
        ended === 'ended'
          ? mode === 'graceful'
            ? 'was stopped gracefully (the stop signal, the grace, its after-script)'
            : 'was stopped immediately'
          : `did not end within ${stopBudgetMs(spec) / 1000}s of the stop and was killed`;
      await core.addRunNote(
        run.runId,
        `"${spec.name}" was still running when its engine went away: it ${how}`,
      );
    }),
  );
}

export class LocalTaskRunner implements StepRunner {
  private readonly running = new Map<string, RunningTask>();
  /** Supervisors an earlier engine started that inspectTask found alive: a stop may still be sent them. */
  private readonly adopted = new Map<string, number>();
  /** Per run: the environment of whoever started it (`finale run` sends the caller's shell). */
  private readonly environments = new Map<string, NodeJS.ProcessEnv>();
  private core?: Core;
  /** Aborted on detach: a step this engine was about to start does not start. */
  private readonly starting = new AbortController();

  constructor(private readonly options: TaskRunnerOptions) {}

  attach(core: Core): void {
    this.core = core;
  }

  setEnvironment(runId: string, environment: NodeJS.ProcessEnv): void {
    this.environments.set(runId, environment);
  }

  forget(runId: string): void {
    this.environments.delete(runId);
  }

  /** Their processes go on. */
  detach(): void {
    this.starting.abort(new Error('this engine has stopped'));
    for (const task of this.running.values()) clearTimeout(task.backstop);
    this.running.clear();
    this.adopted.clear();
  }

  private get detached(): boolean {
    return this.starting.signal.aborted;
  }

  private environmentOf(runId: string): NodeJS.ProcessEnv {
    return this.environments.get(runId) ?? this.options.environment ?? process.env;
  }

  /** How the steps of a run started from `environment` are contained; null: not at all. */
  containmentFor(
    environment: NodeJS.ProcessEnv = this.options.environment ?? process.env,
  ): Containment | null {
    return environment[CONTAINMENT_SETTING] === 'off' ? null : detectContainment();
  }

  noticesFor(environment?: NodeJS.ProcessEnv): string[] {
    if (this.containmentFor(environment)) return [];
    return [
      environment?.[CONTAINMENT_SETTING] === 'off'
        ? `${CONTAINMENT_SETTING}=off: ${UNCONTAINED_NOTICE.replace(/^this machine cannot give/, 'steps do not get')}`
        : UNCONTAINED_NOTICE,
    ];
  }

  async stopTask(ref: { runId: string; taskId: string }, reason: string): Promise<void> {
    const { taskId } = ref;
    // As the agent does in ECS: the run's stop record says how (the port carries no mode).
    const mode = taskStopMode(await this.requireCore().getRun(ref.runId));
    const task = this.running.get(taskId);
    if (!task) {
      const pid = this.adopted.get(taskId);
      if (pid !== undefined) process.kill(pid, mode === 'immediate' ? 'SIGUSR1' : 'SIGTERM');
      return;
    }
    // The supervisor turns SIGTERM into one signal to the step's processes, the grace, then SIGKILL;
    // SIGUSR1 into an immediate kill.
    if (task.supervisor.stop(mode) && (!task.stop || mode === 'immediate')) task.stop = { mode, reason };
  }

  async inspectTask(ref: { runId: string; step: number }): Promise<TaskInspection> {
    const found = await inspectStep(this.options.paths.run(ref.runId).control(ref.step));
    switch (found.state) {
      case 'running':
        this.adopted.set(taskIdOf(found.pid), found.pid);
        return { state: 'running' };
      case 'ended':
        return endedInspection(found.status);
      case 'gone':
        return { state: 'gone' };
    }
  }

  endLeftovers(run: RunRecord, plan: Plan): Promise<void> {
    return endLeftovers(run, plan, this.options.paths, this.requireCore());
  }

  private requireCore(): Core {
    if (!this.core) throw new Error('the task runner is not attached to a core');
    return this.core;
  }

  async tell(ref: { runId: string; step: number }, message: string): Promise<void> {
    // The step's own log: the supervisor appends to the same file.
    await appendFile(this.options.paths.run(ref.runId).log(ref.step), `finale: ${message}\n`);
  }

  async run(request: StepTaskRequest): Promise<unknown> {
    const core = this.requireCore();
    const [plan, run] = await Promise.all([core.getPlan(request.planHash), core.getRun(request.runId)]);
    const spec = plan.steps[request.step];
    if (!spec || !run) throw new Error(`no step ${request.step} in run ${request.runId}`);

    const paths = this.options.paths.run(run.runId);
    const dir = paths.control(spec.index);
    // A supervisor of an earlier attempt may still live here (the engine that started it died).
    if ((await livingSupervisor(dir)) !== undefined) {
      throw new Error(
        `step ${spec.index} of run ${run.runId} still has a supervisor from an earlier attempt`,
      );
    }
    this.starting.signal.throwIfAborted();
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(paths.dir, 'logs'), { recursive: true });
    const workspace = await prepareWorkspace(paths, spec, earlierSteps(plan.steps, spec));
    const environment = this.environmentOf(run.runId);
    const delivered = await stepEnvironment(core, run, spec, environment);
    const log = await open(paths.log(spec.index), 'a');
    let supervisor: SupervisorProcess;
    try {
      supervisor = await startSupervisor({
        dir,
        script: spec.script,
        afterScript: spec.afterScript,
        env: {
          ...delivered.env,
          ...bitbucketVariables({
            run: { ...run, outputs: delivered.outputs },
            spec,
            repository: this.options.repository,
            cloneDir: workspace,
          }),
        },
        mask: delivered.secured,
        cwd: workspace,
        stop: { signal: spec.stop.signal, graceSeconds: spec.stop.graceful ? spec.stop.graceSeconds : 0 },
        maxTime: spec.maxTimeMinutes * (this.options.minuteSeconds ?? 60),
        afterScriptTimeout: AFTER_SCRIPT_SECONDS,
        output: log.fd,
        contain: this.containmentFor(environment),
        // After detach, whatever this engine still does must not start a step: the engine that
        // adopts the run would not know of it.
        signal: this.starting.signal,
      });
    } finally {
      await log.close();
    }
    const supervisorPid = await supervisor.supervisorPid();
    await recordSupervisorPid(dir, supervisorPid ?? supervisor.pid);
    const taskId = taskIdOf(supervisorPid ?? supervisor.pid);
    const task: RunningTask = {
      runId: run.runId,
      supervisor,
      // Step Functions stops a task whose state times out; the supervisor's own max-time comes first.
      backstop: setTimeout(() => {
        void this.stopTask({ runId: run.runId, taskId }, 'the step state timed out');
      }, request.timeoutSeconds * 1000),
    };
    this.running.set(taskId, task);
    try {
      try {
        await core.taskStarted(run.runId, spec.index, taskId);
      } catch (error) {
        // A task whose start was not recorded would be awaited by nobody: it is stopped (gracefully,
        // so its after-script runs) before the error goes on — unless this engine went away.
        if (!this.detached && supervisor.stop('graceful')) await supervisor.exited;
        throw error;
      }
      const exit = await supervisor.exited;
      if (this.detached) return new Promise(() => undefined);
      await collectArtifacts(paths, spec, workspace);
      // A supervisor killed from outside (not through its own stop handling) reports nothing.
      const exitCode = exit.code ?? 128 + (exit.signal === 'SIGKILL' ? 9 : 15);
      const secured = securedOutputNames(
        exit.outputVariables,
        delivered.secured.map((secret) => secret.value),
      );
      // The step wrote the file itself, in plain: once read, only its masked text stays on disk.
      if (delivered.secured.length)
        await maskFile(join(dir, SUPERVISOR_FILES.outputVariables), delivered.secured);
      return await reportTaskEnd(core, run, spec, taskId, {
        exitCode,
        scriptExitCode: exit.status?.exitCode ?? exitCode,
        outputs: exit.outputVariables,
        secured,
        ...(task.stop ? { stop: { reason: task.stop.reason } } : {}),
      });
    } finally {
      clearTimeout(task.backstop);
      this.running.delete(taskId);
      // Removed after the step's result is handed on: deleting a tree is slow, and the next state
      // (often the final step) should not wait for it. An engine that went away leaves it: its step
      // may still run there (housekeeping removes it once the run has ended).
      if (!this.options.keepWorkspaces && !this.detached)
        void rm(workspace, { recursive: true, force: true }).catch((error) =>
          // Housekeeping removes it with the run's folder; until then it only takes disk space.
          console.error(`finale: could not remove the workspace ${workspace}:`, error),
        );
    }
  }
}
