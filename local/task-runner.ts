// The embedded engine's stand-in for ECS: a step's "task" is the step supervisor run as a local
// process, in a workspace of its own. It reports to the core exactly what the AWS side reports from
// ECS events (task started, task ended with exit code and outputs) and answers with an ECS-shaped
// task object, so the compiled definition and completeStep see the same thing on both engines.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StopMode, TaskControl } from '../core/contract';
import type { Core } from '../core/index';
import { bitbucketVariables, type RepositoryIdentity } from '../core/variables';
import type { StepSpec } from '../statemachine/compiler/plan';
import { AFTER_SCRIPT_SECONDS } from '../statemachine/compiler/specs';
import {
  parseSupervisorStatus,
  SUPERVISOR_ENV,
  SUPERVISOR_EXIT,
  SUPERVISOR_FILES,
} from '../supervisor/contract';
import { renderStep } from '../supervisor/render';
import type { LocalTasks, StepTaskRequest } from './engine';
import type { FinalePaths } from './paths';
import { collectArtifacts, prepareWorkspace } from './workspace';

/** supervisor.sh, found relative to this module both from source (local/) and from the bundle (dist/). */
export const SUPERVISOR_PATH = fileURLToPath(new URL('../supervisor/supervisor.sh', import.meta.url));

interface RunningTask {
  readonly child: ChildProcess;
  readonly dir: string;
  stop?: { readonly mode: Exclude<StopMode, 'drain'>; readonly reason: string };
}

export interface TaskRunnerOptions {
  readonly paths: FinalePaths;
  readonly repository: RepositoryIdentity;
  /** The environment steps inherit (the user's shell); Bitbucket's variables are added to it. */
  readonly environment?: NodeJS.ProcessEnv;
  /** Keep step workspaces after the step (for debugging); they are removed by default. */
  readonly keepWorkspaces?: boolean;
}

/** NAME=value lines, as Bitbucket's output-variables file holds them. */
export function parseOutputVariables(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) outputs[line.slice(0, eq).trim()] = line.slice(eq + 1).replace(/\r$/, '');
  }
  return outputs;
}

function earlierSteps(steps: readonly StepSpec[], spec: StepSpec): StepSpec[] {
  // Parallel siblings run at the same time: a step sees artifacts of the steps before its group.
  const first = spec.group?.kind === 'parallel' ? spec.index - spec.group.index : spec.index;
  return steps.filter((step) => step.index < first && !step.skipped);
}

export class LocalTaskRunner implements LocalTasks, TaskControl {
  private readonly running = new Map<string, RunningTask>();
  private core?: Core;

  constructor(private readonly options: TaskRunnerOptions) {}

  /** The core needs the runner (as TaskControl) and the runner the core: wired after both exist. */
  attach(core: Core): void {
    this.core = core;
  }

  /** Task ids of the steps running now. */
  get taskIds(): string[] {
    return [...this.running.keys()];
  }

  async stopTask(taskId: string, mode: Exclude<StopMode, 'drain'>, reason: string): Promise<void> {
    const task = this.running.get(taskId);
    if (!task || task.child.exitCode !== null || task.child.signalCode !== null) return;
    // The supervisor turns SIGTERM into one signal to the script's group, the grace, then SIGKILL;
    // SIGUSR1 into an immediate kill.
    if (!task.stop || mode === 'immediate') task.stop = { mode, reason };
    task.child.kill(mode === 'immediate' ? 'SIGUSR1' : 'SIGTERM');
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
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await mkdir(join(paths.dir, 'logs'), { recursive: true });
    const workspace = await prepareWorkspace(paths, spec, earlierSteps(plan.steps, spec));
    const rendered = renderStep(spec);
    const scriptFile = join(dir, 'script.sh');
    const afterScriptFile = join(dir, 'after-script.sh');
    await writeFile(scriptFile, rendered.script);
    if (rendered.afterScript !== null) await writeFile(afterScriptFile, rendered.afterScript);

    const inherited = Object.fromEntries(
      Object.entries(this.options.environment ?? process.env).filter(([name]) => !name.startsWith('FINALE_')),
    );
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      ...bitbucketVariables({ run, spec, repository: this.options.repository, cloneDir: workspace }),
      [SUPERVISOR_ENV.dir]: dir,
      [SUPERVISOR_ENV.script]: scriptFile,
      ...(rendered.afterScript !== null ? { [SUPERVISOR_ENV.afterScript]: afterScriptFile } : {}),
      [SUPERVISOR_ENV.stopSignal]: spec.stop.signal,
      [SUPERVISOR_ENV.stopGrace]: String(spec.stop.graceful ? spec.stop.graceSeconds : 0),
      [SUPERVISOR_ENV.maxTime]: String(spec.maxTimeMinutes * 60),
      [SUPERVISOR_ENV.afterScriptTimeout]: String(AFTER_SCRIPT_SECONDS),
    };

    const log = await open(paths.log(spec.index), 'a');
    let child: ChildProcess;
    try {
      // Detached: the supervisor leads its own process group, away from the server's terminal, so a
      // Ctrl+C there never reaches a step uninvited; stops go through the API.
      child = spawn('/bin/sh', [SUPERVISOR_PATH], {
        cwd: workspace,
        env,
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
      });
    } finally {
      await log.close();
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: SUPERVISOR_EXIT.error, signal: null }));
    });
    const taskId = `local:${child.pid}`;
    const task: RunningTask = { child, dir };
    this.running.set(taskId, task);
    // Step Functions stops a task whose state times out; the supervisor's own max-time comes first.
    const backstop = setTimeout(() => {
      void this.stopTask(taskId, 'graceful', 'the step state timed out');
    }, request.timeoutSeconds * 1000);
    try {
      await core.taskStarted(run.runId, spec.index, taskId);
      const { code, signal } = await exited;
      const status = parseSupervisorStatus(
        await readFile(join(dir, SUPERVISOR_FILES.status), 'utf8').catch(() => null),
      );
      const outputs = parseOutputVariables(
        await readFile(join(dir, SUPERVISOR_FILES.outputVariables), 'utf8').catch(() => ''),
      );
      await collectArtifacts(paths, spec, workspace);
      // A supervisor killed from outside (not by its own stop handling) reports nothing: exit 137.
      const exitCode = code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : SUPERVISOR_EXIT.error);
      const stopCode = task.stop ? 'UserInitiated' : 'EssentialContainerExited';
      await core.taskEnded(run.runId, spec.index, {
        exitCode: status?.exitCode ?? exitCode,
        stopCode,
        outputs,
      });
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
      clearTimeout(backstop);
      this.running.delete(taskId);
      if (!this.options.keepWorkspaces) await rm(workspace, { recursive: true, force: true });
    }
  }
}
