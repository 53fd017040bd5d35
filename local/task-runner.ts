// The embedded engine's stand-in for ECS: a step's "task" is the step supervisor run as a local
// process, in a workspace of its own and — where the machine allows — as PID 1 of a PID namespace of
// its own, as a container would run it. It reports to the core exactly what the AWS side reports from
// ECS events (task started, task ended with exit code and outputs) and answers with an ECS-shaped
// task object, so the compiled definition and completeStep see the same thing on both engines.

import { appendFile, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StopMode, TaskControl, TaskInspection } from '../core/contract';
import type { Core } from '../core/index';
import { bitbucketVariables, type RepositoryIdentity } from '../core/variables';
import type { StepSpec } from '../statemachine/compiler/plan';
import { AFTER_SCRIPT_SECONDS } from '../statemachine/compiler/specs';
import { type Containment, detectContainment, UNCONTAINED_NOTICE } from '../supervisor/containment';
import { exitCodeOfStatus } from '../supervisor/contract';
import { type SupervisorProcess, startSupervisor } from '../supervisor/start';
import type { LocalTasks, StepTaskRequest } from './engine';
import type { FinalePaths } from './paths';
import { inspectStep, livingSupervisor, recordSupervisorPid } from './step-processes';
import { collectArtifacts, prepareWorkspace } from './workspace';

interface RunningTask {
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

/** FINALE_CONTAINMENT=off in the environment a run is started from runs its steps uncontained. */
export const CONTAINMENT_SETTING = 'FINALE_CONTAINMENT';

function earlierSteps(steps: readonly StepSpec[], spec: StepSpec): StepSpec[] {
  // Parallel siblings run at the same time: a step sees artifacts of the steps before its group.
  const first = spec.group?.kind === 'parallel' ? spec.index - spec.group.index : spec.index;
  return steps.filter((step) => step.index < first && !step.skipped);
}

const taskIdOf = (pid: number) => `local:${pid}`;

export class LocalTaskRunner implements LocalTasks, TaskControl {
  private readonly running = new Map<string, RunningTask>();
  /** Supervisors an earlier engine started that inspectTask found alive: a stop may still be sent them. */
  private readonly adopted = new Map<string, number>();
  /** Per run: the environment of whoever started it (`finale run` sends the caller's shell). */
  private readonly environments = new Map<string, NodeJS.ProcessEnv>();
  private core?: Core;
  private detached = false;

  constructor(private readonly options: TaskRunnerOptions) {}

  /** The core needs the runner (as TaskControl) and the runner the core: wired after both exist. */
  attach(core: Core): void {
    this.core = core;
  }

  /** Steps of `runId` inherit `environment` instead of the server's; forgotten with forget(). */
  setEnvironment(runId: string, environment: NodeJS.ProcessEnv): void {
    this.environments.set(runId, environment);
  }

  forget(runId: string): void {
    this.environments.delete(runId);
  }

  /**
   * Lets go of every step it runs, as a dying engine does: their processes go on, nothing more is
   * sent to them or recorded about them.
   */
  detach(): void {
    this.detached = true;
    for (const task of this.running.values()) clearTimeout(task.backstop);
    this.running.clear();
    this.adopted.clear();
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

  /** What a run started from `environment` should be told about how its steps run. */
  noticesFor(environment?: NodeJS.ProcessEnv): string[] {
    if (this.containmentFor(environment)) return [];
    return [
      environment?.[CONTAINMENT_SETTING] === 'off'
        ? `${CONTAINMENT_SETTING}=off: ${UNCONTAINED_NOTICE.replace(/^this machine cannot give/, 'steps do not get')}`
        : UNCONTAINED_NOTICE,
    ];
  }

  async stopTask(taskId: string, mode: Exclude<StopMode, 'drain'>, reason: string): Promise<void> {
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
        return {
          state: 'ended',
          exitCode: exitCodeOfStatus(found.status),
          scriptExitCode: found.status.exitCode,
          ...(found.status.stop !== 'none' ? { stopCode: 'UserInitiated' } : {}),
        };
      case 'gone':
        return { state: 'gone' };
    }
  }

  async tell(ref: { runId: string; step: number }, message: string): Promise<void> {
    // The step's own log: the supervisor appends to the same file.
    await appendFile(this.options.paths.run(ref.runId).log(ref.step), `finale: ${message}\n`);
  }

  async run(request: StepTaskRequest): Promise<unknown> {
    const core = this.core;
    if (!core) throw new Error('the task runner is not attached to a core');
    const { store, plans } = core.deps;
    const [plan, run] = await Promise.all([plans.get(request.planHash), store.runs.get(request.runId)]);
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
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(paths.dir, 'logs'), { recursive: true });
    const workspace = await prepareWorkspace(paths, spec, earlierSteps(plan.steps, spec));
    const environment = this.environmentOf(run.runId);
    const inherited = Object.fromEntries(
      Object.entries(environment).filter(([name]) => !name.startsWith('FINALE_')),
    );
    const log = await open(paths.log(spec.index), 'a');
    let supervisor: SupervisorProcess;
    try {
      supervisor = await startSupervisor({
        dir,
        script: spec.script,
        afterScript: spec.afterScript,
        env: {
          ...inherited,
          ...bitbucketVariables({ run, spec, repository: this.options.repository, cloneDir: workspace }),
        },
        cwd: workspace,
        stop: { signal: spec.stop.signal, graceSeconds: spec.stop.graceful ? spec.stop.graceSeconds : 0 },
        maxTime: spec.maxTimeMinutes * (this.options.minuteSeconds ?? 60),
        afterScriptTimeout: AFTER_SCRIPT_SECONDS,
        output: log.fd,
        contain: this.containmentFor(environment),
      });
    } finally {
      await log.close();
    }
    const supervisorPid = await supervisor.supervisorPid();
    await recordSupervisorPid(dir, supervisorPid ?? supervisor.pid);
    const taskId = taskIdOf(supervisorPid ?? supervisor.pid);
    const task: RunningTask = {
      supervisor,
      // Step Functions stops a task whose state times out; the supervisor's own max-time comes first.
      backstop: setTimeout(() => {
        void this.stopTask(taskId, 'graceful', 'the step state timed out');
      }, request.timeoutSeconds * 1000),
    };
    this.running.set(taskId, task);
    try {
      await core.taskStarted(run.runId, spec.index, taskId);
      const exit = await supervisor.exited;
      if (this.detached) return new Promise(() => undefined);
      await collectArtifacts(paths, spec, workspace);
      // A supervisor killed from outside (not through its own stop handling) reports nothing.
      const exitCode = exit.code ?? 128 + (exit.signal === 'SIGKILL' ? 9 : 15);
      const stopCode = task.stop ? 'UserInitiated' : 'EssentialContainerExited';
      // What ECS cannot tell completeStep: the script's own exit code when the supervisor's differs
      // (a stop, a timeout), and output variables. A plain success or failure needs no extra write.
      const scriptExit = exit.status?.exitCode ?? exitCode;
      const outputs = exit.outputVariables;
      if (scriptExit !== exitCode || task.stop || Object.keys(outputs).length > 0) {
        await core.taskEnded(run.runId, spec.index, { exitCode: scriptExit, stopCode, outputs });
      }
      const result = {
        TaskArn: taskId,
        LastStatus: 'STOPPED',
        StopCode: stopCode,
        StoppedReason: task.stop?.reason ?? 'Essential container in task exited',
        Containers: [
          { Name: 'agent', ExitCode: exitCode },
          { Name: 'step', ExitCode: exitCode },
        ],
      };
      if (exitCode !== 0) {
        // What runTask.sync does with a non-zero essential container: fail the state, the task as Cause.
        const error = new Error(JSON.stringify(result));
        error.name = 'States.TaskFailed';
        throw error;
      }
      return result;
    } finally {
      clearTimeout(task.backstop);
      this.running.delete(taskId);
      // Removed after the step's result is handed on: deleting a tree is slow, and the next state
      // (often the final step) should not wait for it.
      if (!this.options.keepWorkspaces)
        void rm(workspace, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}
