// One schedule of the fault simulation, drawn from a seed: random pipelines (steps, parallel groups
// with and without fail-fast, stages, manual steps, deployments, concurrency groups, after-scripts,
// on-fail, a final step), several runs of them contending for the same environments, and events at
// random moments — stops of every mode by admins and others, approvals and refusals, the engine
// killed (-9) or stopped, step processes killed, max-time timeouts. Pure: the same seed, the same
// schedule.

import { stringify } from 'yaml';
import { Random } from './random';

/** What a step's processes do: a shell running the script, and a child tree under it. */
export interface Behaviour {
  /** Milliseconds the script takes, undisturbed. */
  readonly durationMs: number;
  /** The script's exit code, per attempt (the last one repeats). */
  readonly exitCodes: readonly number[];
  /** The shell traps the stop signal: it exits 143 after `shellCleanupMs`; else it dies at once. */
  readonly shellTraps: boolean;
  readonly shellCleanupMs: number;
  /** Children of the shell (Terraform, Helm): each honours the signal after its cleanup, or ignores it. */
  readonly children: readonly { readonly ignores: boolean; readonly cleanupMs: number }[];
  /** Milliseconds the after-script takes; absent: the step has none. */
  readonly afterMs?: number;
}

export interface StepPlan {
  readonly name: string;
  readonly behaviour: Behaviour;
  readonly manual?: boolean;
  readonly deployment?: string;
  readonly concurrency?: string;
  readonly onFail?: 'ignore' | 'retry';
  /** Minutes (a simulated minute is short: see SCALE). */
  readonly maxTime?: number;
}

export type ItemPlan =
  | { readonly kind: 'step'; readonly step: StepPlan }
  | { readonly kind: 'parallel'; readonly failFast: boolean; readonly steps: readonly StepPlan[] }
  | { readonly kind: 'stage'; readonly deployment?: string; readonly steps: readonly StepPlan[] };

export interface PipelinePlan {
  /** A custom pipeline's name: runs start it explicitly. */
  readonly name: string;
  readonly items: readonly ItemPlan[];
  readonly final?: StepPlan;
}

export type Caller = 'admin' | 'dev';

export type ScheduleEvent =
  | {
      readonly at: number;
      readonly kind: 'stop';
      readonly run: number;
      readonly mode: 'graceful' | 'drain' | 'immediate';
      readonly by: Caller;
    }
  | { readonly at: number; readonly kind: 'approve' | 'refuse'; readonly run: number; readonly by: Caller }
  /** The engine dies: kill -9 (abandoned at once) or SIGTERM (it hands its runs over); back after `downMs`. */
  | { readonly at: number; readonly kind: 'crash'; readonly how: 'kill' | 'term'; readonly downMs: number }
  /** kill -9 of a step's supervisor (or, contained, its whole namespace): the `nth` running step. */
  | { readonly at: number; readonly kind: 'kill-step'; readonly run: number; readonly nth: number };

export interface Schedule {
  readonly seed: number;
  /** Steps run under the real supervisor, as real processes, instead of simulated ones. */
  readonly real: boolean;
  readonly settings: {
    readonly stopPolicy: 'anyone' | 'admins';
    readonly gracefulStop: boolean;
    readonly stopTimeoutSeconds: number;
  };
  readonly pipelines: readonly PipelinePlan[];
  /** Each run starts a pipeline at a moment. */
  readonly runs: readonly { readonly pipeline: string; readonly at: number }[];
  readonly events: readonly ScheduleEvent[];
}

/** How the simulation shortens time for simulated steps: a second of grace, a minute of max-time. */
export const SCALE = { secondMs: 20, minuteSeconds: 0.06 } as const;

const ENVIRONMENTS = ['staging', 'production'] as const;

function behaviour(random: Random, real: boolean): Behaviour {
  const unit = real ? 40 : 8;
  const failing = random.chance(0.15);
  const children = Array.from({ length: random.int(0, 2) }, () => ({
    ignores: random.chance(0.2),
    cleanupMs: random.int(0, 6) * unit,
  }));
  return {
    durationMs: random.int(1, 12) * unit,
    exitCodes: failing ? [random.int(1, 3)] : random.chance(0.1) ? [2, 0] : [0],
    shellTraps: random.chance(0.3),
    shellCleanupMs: random.int(0, 4) * unit,
    children,
    ...(random.chance(0.6) ? { afterMs: random.int(0, 4) * unit } : {}),
  };
}

function stepPlan(
  random: Random,
  name: string,
  real: boolean,
  options: { manual?: boolean; deployment?: string; lockable?: boolean },
): StepPlan {
  return {
    name,
    behaviour: behaviour(random, real),
    ...(options.manual ? { manual: true } : {}),
    ...(options.deployment ? { deployment: options.deployment } : {}),
    ...(options.lockable !== false && random.chance(0.1) ? { concurrency: 'db' } : {}),
    ...(random.chance(0.15) ? { onFail: random.pick(['ignore', 'retry'] as const) } : {}),
    ...(random.chance(0.1) ? { maxTime: 1 } : {}),
  };
}

function pipelinePlan(random: Random, index: number, real: boolean): PipelinePlan {
  const unused = [...ENVIRONMENTS];
  const takeEnvironment = () =>
    unused.length && random.chance(0.35) ? unused.splice(random.int(0, unused.length - 1), 1)[0] : undefined;
  let n = 0;
  const name = () => `P${index} S${++n}`;
  const items: ItemPlan[] = [];
  const count = random.int(1, real ? 2 : 3);
  for (let i = 0; i < count; i++) {
    const first = i === 0;
    const shape = first ? 'step' : random.pick(['step', 'step', 'parallel', 'stage'] as const);
    if (shape === 'step') {
      items.push({
        kind: 'step',
        step: stepPlan(random, name(), real, {
          manual: !first && random.chance(0.15),
          deployment: takeEnvironment(),
        }),
      });
    } else if (shape === 'parallel') {
      // One step of a group at most in the concurrency group (parallel-concurrency-group).
      let grouped = false;
      items.push({
        kind: 'parallel',
        failFast: random.chance(0.5),
        steps: Array.from({ length: random.int(2, 3) }, () => {
          const step = stepPlan(random, name(), real, {
            manual: random.chance(0.1),
            deployment: takeEnvironment(),
            lockable: !grouped,
          });
          grouped ||= step.concurrency !== undefined;
          return step;
        }),
      });
    } else {
      const deployment = takeEnvironment();
      items.push({
        kind: 'stage',
        ...(deployment ? { deployment } : {}),
        steps: Array.from({ length: random.int(1, 2) }, () =>
          stepPlan(random, name(), real, { lockable: false }),
        ),
      });
    }
  }
  return {
    name: `p${index}`,
    items,
    ...(random.chance(0.85) ? { final: stepPlan(random, `P${index} Final`, real, { lockable: false }) } : {}),
  };
}

/** The schedule of a seed; `real`: its steps run as real processes under the real supervisor. */
export function generateSchedule(seed: number, options: { real?: boolean } = {}): Schedule {
  const random = new Random(seed);
  const real = options.real ?? false;
  const pipelines = Array.from({ length: random.int(1, 2) }, (_, i) => pipelinePlan(random, i + 1, real));
  const unit = real ? 40 : 8;
  const runs = Array.from({ length: random.int(1, 2) }, () => ({
    pipeline: random.pick(pipelines).name,
    at: random.int(0, 6) * unit,
  }));
  const span = 30 * unit;
  const events: ScheduleEvent[] = [];
  const when = () => random.int(0, span);
  const run = () => random.int(0, runs.length - 1);
  const by = (): Caller => random.pick(['admin', 'dev'] as const);
  for (let i = random.int(0, 4); i > 0; i--) {
    const kind = random.pick(['stop', 'stop', 'approve', 'approve', 'refuse', 'crash', 'kill-step'] as const);
    if (kind === 'stop') {
      events.push({
        at: when(),
        kind,
        run: run(),
        mode: random.pick(['graceful', 'graceful', 'drain', 'immediate'] as const),
        by: by(),
      });
    } else if (kind === 'approve' || kind === 'refuse') {
      events.push({ at: when(), kind, run: run(), by: by() });
    } else if (kind === 'crash') {
      events.push({
        at: when(),
        kind,
        how: random.pick(['kill', 'kill', 'term'] as const),
        downMs: random.int(0, 10) * unit,
      });
    } else {
      events.push({ at: when(), kind, run: run(), nth: random.int(0, 2) });
    }
  }
  events.sort((a, b) => a.at - b.at);
  return {
    seed,
    real,
    settings: {
      stopPolicy: random.chance(0.3) ? 'admins' : 'anyone',
      gracefulStop: random.chance(0.9),
      stopTimeoutSeconds: random.int(1, 3),
    },
    pipelines,
    runs,
    events,
  };
}

/** Every step plan of a pipeline, final included. */
export function stepsOfPipeline(pipeline: PipelinePlan): StepPlan[] {
  return [
    ...pipeline.items.flatMap((item) => (item.kind === 'step' ? [item.step] : item.steps)),
    ...(pipeline.final ? [pipeline.final] : []),
  ];
}

/**
 * The bitbucket-pipelines.yml of a schedule: one custom pipeline per pipeline plan. `script` gives
 * each step's script items (a placeholder for simulated steps, real commands for real ones).
 */
export function renderPipelines(
  schedule: Pick<Schedule, 'pipelines'>,
  script: (step: StepPlan) => { script: string[]; afterScript?: string[] },
): string {
  const step = (plan: StepPlan, extra: { final?: boolean } = {}) => {
    const { script: items, afterScript } = script(plan);
    return {
      name: plan.name,
      ...(plan.manual && !extra.final ? { trigger: 'manual' } : {}),
      ...(plan.deployment ? { deployment: plan.deployment } : {}),
      ...(plan.concurrency ? { 'concurrency-group': plan.concurrency } : {}),
      ...(plan.maxTime ? { 'max-time': plan.maxTime } : {}),
      ...(plan.onFail && !extra.final
        ? {
            'on-fail':
              plan.onFail === 'retry' ? { strategy: 'retry', maxRetryCount: 1 } : { strategy: 'ignore' },
          }
        : {}),
      script: items,
      ...(afterScript ? { 'after-script': afterScript } : {}),
    };
  };
  const custom: Record<string, unknown[]> = {};
  for (const pipeline of schedule.pipelines) {
    custom[pipeline.name] = [
      ...pipeline.items.map((item) => {
        if (item.kind === 'step') return { step: step(item.step) };
        if (item.kind === 'parallel')
          return {
            parallel: { 'fail-fast': item.failFast, steps: item.steps.map((s) => ({ step: step(s) })) },
          };
        return {
          stage: {
            name: `${item.steps[0]!.name} stage`,
            ...(item.deployment ? { deployment: item.deployment } : {}),
            steps: item.steps.map((s) => ({ step: step(s) })),
          },
        };
      }),
      ...(pipeline.final ? [{ final: step(pipeline.final, { final: true }) }] : []),
    ];
  }
  return stringify({ pipelines: { custom } });
}
