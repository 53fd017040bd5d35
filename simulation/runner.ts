// The embedded engine's StepRunner for simulated steps: what the process runner does with
// supervisor processes, done with the world's simulated tasks on scaled time. It reports to the core
// exactly as the process runner does (local/step-runner.ts), so the engine under test is the same.

import type { Core } from '../core/index';
import { taskStopMode } from '../core/stop';
import type { StepTaskRequest } from '../local/engine';
import { endedInspection, reportTaskEnd, type StepRunner } from '../local/step-runner';
import type { Plan, StepSpec } from '../statemachine/compiler/plan';
import { AFTER_SCRIPT_SECONDS } from '../statemachine/compiler/specs';
import type { RunRecord } from '../store/records';
import { exitCodeOfStatus } from '../supervisor/contract';
import type { TaskInspection, TaskRef } from '../vocabulary/contract';
import { type Behaviour, SCALE } from './scenario';
import type { SimTask, World } from './world';

const taskIdOf = (task: SimTask) => `sim:${task.pid}`;

export class SimulatedRunner implements StepRunner {
  private core?: Core;
  private detached = false;
  private readonly stops = new Map<number, string>();

  constructor(
    private readonly world: World,
    private readonly behaviourOf: (step: string) => Behaviour,
    private readonly minuteSeconds: number,
  ) {}

  attach(core: Core): void {
    this.core = core;
  }
  setEnvironment(): void {}
  forget(): void {}
  noticesFor(): string[] {
    return [];
  }

  detach(): void {
    this.detached = true;
  }

  private times(spec: StepSpec) {
    return {
      graceMs: spec.stop.graceful ? spec.stop.graceSeconds * SCALE.secondMs : 0,
      maxTimeMs: spec.maxTimeMinutes * this.minuteSeconds * 1000,
      afterScriptMs: AFTER_SCRIPT_SECONDS * SCALE.secondMs,
    };
  }

  async stopTask(ref: { runId: string; taskId: string }, reason: string): Promise<void> {
    if (this.detached) return;
    // The step's side reads how from the run's stop record, as the agent and the process runner do.
    const mode = taskStopMode(await this.core?.getRun(ref.runId));
    if (this.detached) return;
    const task = this.world.byPid(Number(ref.taskId.slice('sim:'.length)));
    if (!task?.running) return;
    if (!this.stops.has(task.pid) || mode === 'immediate') this.stops.set(task.pid, reason);
    task.request(mode);
  }

  async inspectTask(ref: TaskRef): Promise<TaskInspection> {
    const task = this.world.latest(ref.runId, ref.step);
    if (!task) return { state: 'gone' };
    if (task.running) return { state: 'running' };
    const status = task.end?.status;
    if (!status) return { state: 'gone' };
    return endedInspection(status);
  }

  async tell(): Promise<void> {}

  async endLeftovers(run: RunRecord, plan: Plan): Promise<void> {
    const mode = run.stop?.mode === 'immediate' ? 'immediate' : 'graceful';
    await Promise.all(
      plan.steps.map(async (spec) => {
        const task = this.world.latest(run.runId, spec.index);
        if (spec.kind === 'final' || !task?.running) return;
        task.request(mode);
        const times = this.times(spec);
        const budget = times.graceMs + times.afterScriptMs + 200;
        const ended = await Promise.race([
          task.ended.then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), budget)),
        ]);
        if (!ended) task.kill();
        await this.core?.addRunNote(
          run.runId,
          `"${spec.name}" was still running when its engine went away: it ${ended ? 'was stopped' : 'was killed'}`,
        );
      }),
    );
  }

  async run(request: StepTaskRequest): Promise<unknown> {
    const core = this.core;
    if (!core || this.detached) return new Promise(() => undefined);
    const [plan, run] = await Promise.all([core.getPlan(request.planHash), core.getRun(request.runId)]);
    const spec = plan.steps[request.step];
    const record = run?.steps[String(request.step)];
    if (!spec || !run || !record) throw new Error(`no step ${request.step} in run ${request.runId}`);
    if (this.world.latest(run.runId, spec.index)?.running) {
      throw new Error(`step ${spec.index} of run ${run.runId} still has a task from an earlier attempt`);
    }
    const behaviour = this.behaviourOf(spec.name);
    const exitCode = behaviour.exitCodes[Math.min(record.attempts, behaviour.exitCodes.length) - 1] ?? 0;
    const task = this.world.start(run.runId, spec.index, behaviour, exitCode, this.times(spec), spec.locks);
    const taskId = taskIdOf(task);
    await core.taskStarted(run.runId, spec.index, taskId);
    const end = await task.ended;
    if (this.detached) return new Promise(() => undefined);
    const code = end.status ? exitCodeOfStatus(end.status) : 137;
    const stop = this.stops.get(task.pid);
    return reportTaskEnd(core, run, spec, taskId, {
      exitCode: code,
      scriptExitCode: end.status?.exitCode ?? code,
      outputs: {},
      ...(stop ? { stop: { reason: stop } } : {}),
    });
  }
}
