// Model → step specs and lock specs: every default resolved, so the runtimes read facts, not YAML.

import picomatch from 'picomatch';
import type {
  ChangesetCondition,
  PipelineFile,
  PipelineItem,
  ScriptEntry,
  Stage,
  Step,
  StepSize,
} from '../language/model';
import { pipeCommand } from '../language/pipes';
import type { LockSpec, StepSpec, StopSettings } from './plan';
import { fargateSizeOf } from './sizes';

const DEFAULT_IMAGE = 'atlassian/default-image:4';
const DEFAULT_MAX_TIME_MINUTES = 120;
const DEFAULT_STOP: StopSettings = { graceful: true, signal: 'TERM', graceSeconds: 30 };
/** The supervisor's budget for the after-script (FINALE_AFTER_SCRIPT_TIMEOUT). */
export const AFTER_SCRIPT_SECONDS = 600;
/** Time for ECS to place the task, pull the image and prepare the workspace. */
const TASK_START_SECONDS = 300;

interface SpecOptions {
  readonly stop?: StopSettings;
  /** Files changed by the trigger; unknown means changeset conditions cannot skip anything. */
  readonly changedFiles?: readonly string[];
}

interface Specs {
  readonly steps: readonly StepSpec[];
  readonly locks: readonly LockSpec[];
  readonly notes: readonly string[];
}

/** Finale does not start child pipelines: the step fails where it would have started one, and says so. */
function childPipelineCommand(custom: string): string {
  const message = `finale: this step would start the child pipeline custom:${custom}; Finale does not run child pipelines`;
  return `echo '${message.replace(/'/g, `'\\''`)}' >&2; exit 1`;
}

function scriptLines(entries: readonly ScriptEntry[]): string[] {
  return entries.map((entry) => (entry.kind === 'command' ? entry.text : pipeCommand(entry)));
}

/** Bitbucket: include → at least one changed file matches; exclude → skipped when every change is excluded. */
function changesetAllows(condition: ChangesetCondition | undefined, files: readonly string[] | undefined) {
  if (!condition || files === undefined) return true;
  const include = condition.includePaths.length
    ? picomatch([...condition.includePaths], { dot: true })
    : null;
  const exclude = condition.excludePaths.length
    ? picomatch([...condition.excludePaths], { dot: true })
    : null;
  const relevant = files.filter(
    (file) => (include ? include(file) : true) && !(exclude ? exclude(file) : false),
  );
  return relevant.length > 0;
}

/** Seconds a step can take end to end before the state's backstop timeout fires. */
export function stepBudgetSeconds(spec: Pick<StepSpec, 'maxTimeMinutes' | 'stop'>): number {
  return spec.maxTimeMinutes * 60 + spec.stop.graceSeconds + AFTER_SCRIPT_SECONDS + TASK_START_SECONDS;
}

export function lockKeyOf(kind: 'deployment' | 'concurrency', name: string): string {
  return `${kind}:${name}`;
}

interface Context {
  readonly stage?: Stage;
  readonly parallel?: {
    readonly index: number;
    readonly count: number;
    readonly failFast: boolean;
    readonly name: string;
  };
}

export function buildSpecs(
  file: PipelineFile,
  items: readonly PipelineItem[],
  options: SpecOptions = {},
): Specs {
  const stop = options.stop ?? DEFAULT_STOP;
  const notes: string[] = [];
  const steps: StepSpec[] = [];
  const locks = new Map<string, { kind: 'deployment' | 'concurrency'; name: string; steps: number[] }>();

  const addLock = (kind: 'deployment' | 'concurrency', name: string, index: number) => {
    const key = lockKeyOf(kind, name);
    const lock = locks.get(key) ?? { kind, name, steps: [] };
    lock.steps.push(index);
    locks.set(key, lock);
    return key;
  };

  const place = (step: Step, context: Context) => {
    const index = steps.length;
    const size: StepSize = step.size ?? file.options?.size ?? '1x';
    const fargate = fargateSizeOf(size);
    if (fargate.note && !notes.includes(fargate.note)) notes.push(fargate.note);
    const name = step.name ?? `Step ${index + 1}`;
    const stage = context.stage;
    const skipped =
      !changesetAllows(step.condition, options.changedFiles) ||
      !changesetAllows(stage?.condition, options.changedFiles);

    const lockKeys: string[] = [];
    if (stage?.deployment) lockKeys.push(addLock('deployment', stage.deployment, index));
    if (step.deployment && step.deployment !== stage?.deployment) {
      lockKeys.push(addLock('deployment', step.deployment, index));
    }
    if (step.concurrencyGroup) lockKeys.push(addLock('concurrency', step.concurrencyGroup, index));

    const deployment = step.deployment ?? stage?.deployment;
    const environment: Record<string, string> = {};
    // `environment` names the deployment environment without taking its lock.
    const named = deployment ?? step.environment;
    if (named) environment.BITBUCKET_DEPLOYMENT_ENVIRONMENT = named;
    if (context.parallel) {
      environment.BITBUCKET_PARALLEL_STEP = String(context.parallel.index);
      environment.BITBUCKET_PARALLEL_STEP_COUNT = String(context.parallel.count);
    }

    const group = context.parallel
      ? { kind: 'parallel' as const, ...context.parallel }
      : stage
        ? {
            kind: 'stage' as const,
            name: stage.name ?? 'Stage',
            index: stage.steps.indexOf(step),
            count: stage.steps.length,
            failFast: false,
          }
        : undefined;

    const image = step.image ?? file.image;
    const clone = step.clone ?? file.clone;
    const spec: StepSpec = {
      index,
      name,
      stateName: '',
      kind: step.kind,
      ...(group ? { group } : {}),
      image: image ? (({ at: _at, ...rest }) => rest)(image) : { name: DEFAULT_IMAGE },
      size,
      cpu: fargate.cpu,
      memory: fargate.memory,
      maxTimeMinutes: step.maxTime ?? file.options?.maxTime ?? DEFAULT_MAX_TIME_MINUTES,
      stop,
      script: step.child ? [childPipelineCommand(step.child.custom)] : scriptLines(step.script),
      afterScript: scriptLines(step.afterScript),
      environment,
      trigger:
        step.trigger === 'manual' || (stage?.trigger === 'manual' && stage.steps[0] === step)
          ? 'manual'
          : 'automatic',
      ...(deployment ? { deployment } : {}),
      locks: [...new Set(lockKeys)].sort(),
      artifacts: {
        paths: step.artifacts?.paths ?? [],
        download: step.artifacts?.download ?? true,
      },
      outputVariables: step.outputVariables,
      onFail: step.onFail
        ? {
            strategy: step.onFail.strategy,
            maxRetryCount: step.onFail.strategy === 'retry' ? step.onFail.maxRetryCount : 0,
          }
        : { strategy: 'fail', maxRetryCount: 0 },
      clone: {
        enabled: clone?.enabled ?? true,
        ...(clone?.depth !== undefined ? { depth: clone.depth } : {}),
        lfs: clone?.lfs ?? false,
      },
      caches: step.caches,
      services: step.services,
      skipped,
    };
    steps.push(spec);
  };

  for (const item of items) {
    if (item.kind === 'parallel') {
      const name = item.steps.map((step, i) => step.name ?? `Step ${steps.length + i + 1}`).join(', ');
      item.steps.forEach((step, i) => {
        place(step, { parallel: { index: i, count: item.steps.length, failFast: item.failFast, name } });
      });
    } else if (item.kind === 'stage') {
      for (const step of item.steps) place(step, { stage: item });
    } else {
      place(item, {});
    }
  }

  const lockSpecs: LockSpec[] = [...locks.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, lock]) => ({
      key,
      kind: lock.kind,
      name: lock.name,
      // The lease covers every step under the lock end to end: it only matters if a holder crashes.
      leaseSeconds: lock.steps.reduce((sum, index) => sum + stepBudgetSeconds(steps[index]!), 0),
      steps: lock.steps,
    }));

  return { steps, locks: lockSpecs, notes };
}
