// Simulated step processes: a model of what supervisor.sh does with a step's process tree, on
// timers instead of processes, so that thousands of schedules fit in minutes. The world outlives the
// engines of a schedule, as processes outlive a server killed with -9. The real supervisor, with real
// process trees, runs in a share of the schedules (real.ts); this model is checked against the same
// invariants.
//
// A task: the shell runs the script for its duration; a stop sends one signal to every process (the
// shell dies at once unless it traps; each child cleans up or ignores it), waits until all have
// exited or the grace ends, kills the rest, then runs the after-script. An immediate stop kills
// everything and skips the after-script. A kill of the task takes everything down without a status.

import type { SupervisorStatus } from '../supervisor/contract';
import type { Behaviour } from './scenario';

interface TaskEnd {
  /** Undefined when the task was killed outright: no status file. */
  readonly status?: SupervisorStatus;
}

interface TaskTimes {
  readonly graceMs: number;
  readonly maxTimeMs: number;
  readonly afterScriptMs: number;
}

/** When the task's processes lived, and under which locks: what "no lock held twice" is checked on. */
interface Interval {
  readonly runId: string;
  readonly step: number;
  readonly locks: readonly string[];
  readonly from: number;
  to?: number;
}

let nextPid = 1000;

export class SimTask {
  readonly pid = nextPid++;
  readonly startedAt = Date.now();
  private phase: 'script' | 'stopping' | 'after' | 'ended' = 'script';
  private readonly timers = new Set<NodeJS.Timeout>();
  private alive: { shell: boolean; children: boolean[] };
  private stop: 'none' | 'graceful' | 'immediate' | 'timeout' = 'none';
  private scriptCode: number | undefined;
  private resolveEnd!: (end: TaskEnd) => void;
  /** Settles when every process of the task has gone. */
  readonly ended = new Promise<TaskEnd>((resolve) => {
    this.resolveEnd = resolve;
  });
  endedAt: number | undefined;
  end: TaskEnd | undefined;
  /** Whether a stop was ever asked of it (a task killed after that counts as stopped). */
  stopRequested = false;
  readonly interval: Interval;

  constructor(
    readonly runId: string,
    readonly step: number,
    private readonly behaviour: Behaviour,
    private readonly exitCode: number,
    private readonly times: TaskTimes,
    locks: readonly string[],
    intervals: Interval[],
  ) {
    this.alive = { shell: true, children: behaviour.children.map(() => true) };
    this.interval = { runId, step, locks, from: this.startedAt };
    intervals.push(this.interval);
    this.after(behaviour.durationMs, () => {
      if (this.phase !== 'script') return;
      this.scriptCode = exitCode;
      this.alive = { shell: false, children: this.alive.children.map(() => false) };
      this.afterScript();
    });
    if (times.maxTimeMs > 0) this.after(times.maxTimeMs, () => this.signal('timeout'));
  }

  get running(): boolean {
    return this.phase !== 'ended';
  }

  private after(ms: number, work: () => void) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      work();
    }, ms);
    this.timers.add(timer);
  }

  /** A stop request: SIGTERM (graceful) or SIGUSR1 (immediate) to the supervisor. */
  request(mode: 'graceful' | 'immediate'): void {
    if (this.phase !== 'ended') this.stopRequested = true;
    if (mode === 'immediate') {
      if (this.phase === 'ended') return;
      this.stop = 'immediate';
      this.scriptCode ??= 137;
      this.finish();
      return;
    }
    // During the stop or the after-script a further request changes nothing.
    if (this.phase === 'script') this.signal('graceful');
  }

  private signal(why: 'graceful' | 'timeout') {
    if (this.phase !== 'script') return;
    this.stop = why;
    this.phase = 'stopping';
    if (this.times.graceMs === 0) {
      this.scriptCode = 137;
      this.afterScript();
      return;
    }
    const { behaviour } = this;
    if (behaviour.shellTraps) {
      this.after(behaviour.shellCleanupMs, () => this.exitShell(143));
    } else {
      this.exitShell(143);
    }
    behaviour.children.forEach((child, i) => {
      if (!child.ignores) this.after(child.cleanupMs, () => this.exitChild(i));
    });
    this.after(this.times.graceMs, () => {
      if (this.phase !== 'stopping') return;
      // The grace is over: SIGKILL what is left.
      if (this.alive.shell) this.scriptCode = 137;
      this.alive = { shell: false, children: this.alive.children.map(() => false) };
      this.afterScript();
    });
  }

  private exitShell(code: number) {
    if (!this.alive.shell) return;
    this.alive.shell = false;
    this.scriptCode = code;
    this.settleStop();
  }

  private exitChild(index: number) {
    this.alive.children[index] = false;
    this.settleStop();
  }

  private settleStop() {
    if (this.phase === 'stopping' && !this.alive.shell && this.alive.children.every((alive) => !alive))
      this.afterScript();
  }

  private afterScript() {
    if (this.phase === 'after' || this.phase === 'ended') return;
    const { afterMs } = this.behaviour;
    if (afterMs === undefined) {
      this.finish();
      return;
    }
    this.phase = 'after';
    this.after(Math.min(afterMs, this.times.afterScriptMs), () => this.finish());
  }

  private finish() {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    const code = this.scriptCode ?? this.exitCode;
    const outcome =
      this.stop === 'graceful' || this.stop === 'immediate'
        ? 'stopped'
        : this.stop === 'timeout'
          ? 'timed-out'
          : code === 0
            ? 'succeeded'
            : 'failed';
    this.close({ status: { outcome, exitCode: code, stop: this.stop } });
  }

  /** kill -9 of the supervisor: everything goes, nothing is written. */
  kill(): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.close({});
  }

  private close(end: TaskEnd) {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.endedAt = Date.now();
    this.interval.to = this.endedAt;
    this.end = end;
    this.resolveEnd(end);
  }
}

/** Every simulated task of a schedule, by run and step, and when they held which locks. */
export class World {
  private readonly tasks = new Map<string, SimTask[]>();
  readonly intervals: Interval[] = [];

  start(
    runId: string,
    step: number,
    behaviour: Behaviour,
    exitCode: number,
    times: TaskTimes,
    locks: readonly string[],
  ): SimTask {
    const task = new SimTask(runId, step, behaviour, exitCode, times, locks, this.intervals);
    const key = `${runId}/${step}`;
    this.tasks.set(key, [...(this.tasks.get(key) ?? []), task]);
    return task;
  }

  /** The tasks started for a step, oldest first. */
  of(runId: string, step: number): readonly SimTask[] {
    return this.tasks.get(`${runId}/${step}`) ?? [];
  }

  latest(runId: string, step: number): SimTask | undefined {
    return this.of(runId, step).at(-1);
  }

  byPid(pid: number): SimTask | undefined {
    for (const list of this.tasks.values()) for (const task of list) if (task.pid === pid) return task;
    return undefined;
  }

  running(runId?: string): SimTask[] {
    return [...this.tasks.values()].flat().filter((task) => task.running && (!runId || task.runId === runId));
  }

  all(): SimTask[] {
    return [...this.tasks.values()].flat();
  }
}
