// Pipeline model → Plan. Pure: the same input always gives byte-identical ASL.
//
// Shape (docs/architecture.md): Start → Start run → items → Finalize → [Final Step] → Finish run →
// Pipeline result. Every main-path Catch goes to Finalize; the final path catches everything and goes
// on, so the final step runs exactly once and the locks are always released.

import { ERROR_NAMES, FAIL_ERROR_OF, type RunStatus } from '../../vocabulary/contract';
import type { Pipeline, PipelineFile } from '../language/model';
import { hashPlan } from './hash';
import { checkLimits } from './limits';
import { StateNames } from './names';
import type { AslDefinition, AslState, LockSpec, Plan, StepSpec, StopSettings } from './plan';
import { buildSpecs, lockKeyOf, stepBudgetSeconds } from './specs';
import {
  APPROVAL_TIMEOUT_SECONDS,
  type Catcher,
  catchAll,
  controlState,
  LOCK_RECHECK_SECONDS,
  LOCK_RECHECKS,
  runTaskState,
  waitState,
} from './states';

export interface CompileInput {
  readonly file: PipelineFile;
  readonly pipeline: Pipeline;
  /** The repository's stop settings when the run starts. */
  readonly stop?: StopSettings;
  /** Files the trigger changed, for `condition.changesets`; unknown = no step is skipped. */
  readonly changedFiles?: readonly string[];
}

/** The run's own states; step names never take these. */
export const RUN_STATES = {
  start: 'Start',
  startRun: 'Start run',
  finalize: 'Finalize',
  finishRun: 'Finish run',
  result: 'Pipeline result',
  succeeded: 'Pipeline succeeded',
  failed: 'Pipeline failed',
  stopped: 'Pipeline stopped',
  timedOut: 'Pipeline timed out',
  error: 'Pipeline error',
} as const;

export const FINAL_STEP_PREFIX = '[Final Step] ';

interface StepUnit {
  readonly kind: 'step';
  readonly spec: StepSpec;
  /** Gate before the step: its own manual trigger, or its stage's. */
  readonly approval?: { readonly name: string };
  /** Locks acquired before the step (its own, or its stage's when it opens the stage). */
  readonly acquire: readonly { readonly lock: LockSpec; readonly name: string }[];
  /** Locks released by the step's End on success (its own, or its stage's when it closes the stage). */
  readonly release: readonly string[];
  readonly begin: string;
  readonly task: string;
  readonly end: string;
}

interface ParallelUnit {
  readonly kind: 'parallel';
  readonly name: string;
  readonly check: string;
  readonly failFast: boolean;
  readonly branches: readonly (StepUnit & { readonly notCompleted: string; readonly failFast: boolean })[];
}

type Unit = StepUnit | ParallelUnit;

/** Assigns every state name in pipeline order, so duplicates get their ` (n)` in reading order. */
function planUnits(
  pipeline: Pipeline,
  specs: readonly StepSpec[],
  locks: readonly LockSpec[],
  names: StateNames,
) {
  const lockOf = new Map(locks.map((lock) => [lock.key, lock]));
  const units: Unit[] = [];
  let finalUnit: StepUnit | undefined;
  let cursor = 0;

  const stepUnit = (
    spec: StepSpec,
    gate: { approval?: string; acquire: readonly string[]; release: readonly string[] },
  ): StepUnit => {
    const stateName = spec.kind === 'final' ? `${FINAL_STEP_PREFIX}${spec.name}` : spec.name;
    const approval = gate.approval ? { name: names.claim('Approve: ', gate.approval) } : undefined;
    const acquire = gate.acquire.map((key) => {
      const lock = lockOf.get(key)!;
      return { lock, name: names.claim('Lock: ', lock.name) };
    });
    const begin = names.claim('Begin: ', stateName);
    const task = names.claim('', stateName);
    const end = names.claim('End: ', stateName);
    return {
      kind: 'step',
      spec: { ...spec, stateName: task },
      ...(approval ? { approval } : {}),
      acquire,
      release: gate.release,
      begin,
      task,
      end,
    };
  };

  for (const item of pipeline.items) {
    const modelSteps = item.kind === 'parallel' || item.kind === 'stage' ? item.steps : [item];
    const itemSpecs = specs.slice(cursor, cursor + modelSteps.length);
    cursor += modelSteps.length;
    const live = itemSpecs.flatMap((spec, i) => (spec.skipped ? [] : [{ spec, step: modelSteps[i]! }]));
    if (live.length === 0) continue;
    const ownGate = (spec: StepSpec, manual: boolean) => ({
      ...(manual ? { approval: spec.name } : {}),
      acquire: spec.locks,
      release: spec.locks,
    });

    if (item.kind === 'parallel') {
      const name = names.claim('Parallel: ', live.map(({ spec }) => spec.name).join(', '));
      const branches = live.map(({ spec, step }) => {
        const unit = stepUnit(spec, ownGate(spec, step.trigger === 'manual'));
        // A step's own fail-fast makes the group fail fast when that step fails.
        return {
          ...unit,
          failFast: item.failFast || step.failFast === true,
          notCompleted: names.claim('Not completed: ', unit.task),
        };
      });
      const check = names.claim('Check: ', name);
      units.push({ kind: 'parallel', name, check, failFast: item.failFast, branches });
    } else if (item.kind === 'stage') {
      // The stage's lock is held from its first live step to its last; a step's own locks per step.
      const stageLocks = item.deployment ? [lockKeyOf('deployment', item.deployment)] : [];
      live.forEach(({ spec, step }, i) => {
        const own = spec.locks.filter((key) => !stageLocks.includes(key));
        const first = i === 0;
        const last = i === live.length - 1;
        const approval =
          first && item.trigger === 'manual'
            ? (item.name ?? spec.name)
            : step.trigger === 'manual'
              ? spec.name
              : undefined;
        units.push(
          stepUnit(spec, {
            ...(approval ? { approval } : {}),
            acquire: [...(first ? stageLocks : []), ...own],
            release: [...(last ? stageLocks : []), ...own],
          }),
        );
      });
    } else {
      const { spec, step } = live[0]!;
      const unit = stepUnit(spec, ownGate(spec, step.trigger === 'manual'));
      if (spec.kind === 'final') finalUnit = unit;
      else units.push(unit);
    }
  }
  return { units, finalUnit };
}

/**
 * The final step's Begin. The final step must run even if recording its start fails, so its Catch
 * goes on to the task — except when beginStep says it has run already (Final.AlreadyRan: skip it), or
 * that the task an earlier engine started still runs (Final.StillRunning: retried, so the run waits
 * for it, as long as the step can last; should it last longer, the run finishes without a second copy).
 */
function finalBeginState(unit: StepUnit, spec: StepSpec, finishRun: string): AslState {
  const waits = FINAL_WAIT;
  const attempts =
    Math.ceil(stepBudgetSeconds(spec) / waits.MaxDelaySeconds) +
    Math.ceil(Math.log(waits.MaxDelaySeconds / waits.IntervalSeconds) / Math.log(waits.BackoffRate)) +
    1;
  return controlState(
    { action: 'beginStep', step: spec.index },
    {
      resultPath: null,
      retry: [{ ErrorEquals: [ERROR_NAMES.finalStillRunning], ...waits, MaxAttempts: attempts }],
      catch: [
        {
          ErrorEquals: [ERROR_NAMES.finalAlreadyRan, ERROR_NAMES.finalStillRunning],
          Next: finishRun,
          ResultPath: '$.beginError',
        },
        catchAll(unit.task, '$.beginError'),
      ],
      Next: unit.task,
    },
  );
}

/** How often the final step's Begin looks again at a final step that still runs. */
const FINAL_WAIT = { IntervalSeconds: 1, BackoffRate: 1.5, MaxDelaySeconds: 30 } as const;

/** The states of one step: [Approve] → [Lock…] → Begin → Task → End → next. */
function stepStates(
  unit: StepUnit,
  next: string,
  onFailure: (resultPath: string | null) => Catcher,
  parallel?: { readonly failFast: boolean; readonly steps: readonly number[] },
) {
  const inBranch = parallel !== undefined;
  const { spec } = unit;
  const states: Record<string, AslState> = {};
  const entry = unit.approval?.name ?? unit.acquire[0]?.name ?? unit.begin;
  const chain = [
    ...(unit.approval ? [unit.approval.name] : []),
    ...unit.acquire.map((a) => a.name),
    unit.begin,
  ];
  const after = (name: string) => chain[chain.indexOf(name) + 1]!;

  if (unit.approval) {
    states[unit.approval.name] = waitState(
      { action: 'awaitApproval', step: spec.index },
      {
        timeoutSeconds: APPROVAL_TIMEOUT_SECONDS,
        catch: [onFailure('$.error')],
        Next: after(unit.approval.name),
      },
    );
  }
  for (const { lock, name } of unit.acquire) {
    states[name] = waitState(
      { action: 'acquireLock', step: spec.index, lock: lock.key, leaseSeconds: lock.leaseSeconds },
      {
        timeoutSeconds: LOCK_RECHECK_SECONDS,
        retry: [
          { ErrorEquals: ['States.Timeout'], IntervalSeconds: 1, MaxAttempts: LOCK_RECHECKS, BackoffRate: 1 },
        ],
        catch: [onFailure('$.error')],
        Next: after(name),
      },
    );
  }
  states[unit.begin] =
    spec.kind === 'final'
      ? finalBeginState(unit, spec, next)
      : controlState(
          { action: 'beginStep', step: spec.index },
          { resultPath: null, catch: [onFailure('$.error')], Next: unit.task },
        );
  states[unit.task] = runTaskState(spec, stepBudgetSeconds(spec), [catchAll(unit.end, '$.task')], unit.end);

  // A final step is never retried, whatever its on-fail says: it runs exactly once. completeStep
  // never asks for it; the definition must not allow it either (`finale verify` checks).
  const retry: Catcher[] =
    spec.onFail.strategy === 'retry' && spec.kind !== 'final'
      ? [{ ErrorEquals: [ERROR_NAMES.stepRetry], Next: unit.begin, ResultPath: null }]
      : [];
  // completeStep throws for every step that did not succeed, so reaching the next state means
  // success: the result is a constant, and no path into the function's answer can be missing. A
  // parallel branch ends with it as its output ({ok: true}), as "Not completed" ends with {ok: false}.
  states[unit.end] = controlState(
    {
      action: 'completeStep',
      step: spec.index,
      'task.$': '$.task',
      ...(unit.release.length ? { release: unit.release } : {}),
      ...(parallel ? { parallel } : {}),
    },
    {
      resultSelector: { ok: true },
      resultPath: '$.task',
      // Not ResultPath '$': aws-local-stepfunctions 3.0.0 stores that under a key named "$".
      ...(inBranch ? { outputPath: '$.task' } : {}),
      catch: [...retry, onFailure('$.error')],
      ...(inBranch ? { End: true as const } : { Next: next }),
    },
  );
  return { entry, states };
}

function buildDefinition(
  units: readonly Unit[],
  finalUnit: StepUnit | undefined,
  comment: string,
): AslDefinition {
  const S = RUN_STATES;
  const states: Record<string, AslState> = {};
  const toFinalize = (resultPath: string | null) => catchAll(S.finalize, resultPath);

  // Built back to front: each unit needs the entry of the one after it.
  let next: string = S.finalize;
  const built: Record<string, AslState>[] = [];
  for (const unit of [...units].reverse()) {
    if (unit.kind === 'step') {
      const { entry, states: own } = stepStates(unit, next, toFinalize);
      built.unshift(own);
      next = entry;
      continue;
    }
    const siblings = unit.branches.map((branch) => branch.spec.index);
    const branches = unit.branches.map((branch) => {
      const { entry, states: own } = stepStates(
        branch,
        '',
        (resultPath) => catchAll(branch.notCompleted, resultPath),
        { failFast: branch.failFast, steps: siblings },
      );
      // A branch that could not complete reports {ok: false}; the group check routes to Finalize.
      own[branch.notCompleted] = { Type: 'Pass', Result: { ok: false }, End: true };
      return { StartAt: entry, States: own };
    });
    built.unshift({
      [unit.name]: {
        Type: 'Parallel',
        Branches: branches,
        ResultPath: '$.group',
        Catch: [toFinalize('$.error')],
        Next: unit.check,
      },
      [unit.check]: {
        Type: 'Choice',
        Choices: [
          {
            Or: unit.branches.map((_, i) => ({ Variable: `$.group[${i}].ok`, BooleanEquals: false })),
            Next: S.finalize,
          },
        ],
        Default: next,
      },
    });
    next = unit.name;
  }
  const firstItem = next;

  states[S.start] = {
    Type: 'Choice',
    Comment: 'A recovered run (orphaned or aborted) only runs its final step and releases its locks.',
    // `recover` is always in the execution input (ExecutionInput): no path here can be missing.
    Choices: [{ Variable: '$.recover', BooleanEquals: true, Next: S.finalize }],
    Default: S.startRun,
  };
  states[S.startRun] = controlState(
    { action: 'startRun' },
    { resultPath: null, catch: [toFinalize('$.error')], Next: firstItem },
  );
  for (const own of built) Object.assign(states, own);

  const afterFinalize = finalUnit ? finalUnit.begin : S.finishRun;
  states[S.finalize] = controlState(
    { action: 'enterFinal', 'input.$': '$' },
    {
      resultPath: null,
      // Whatever happens here, the final step still runs.
      catch: [catchAll(afterFinalize, '$.finalizeError')],
      Next: afterFinalize,
    },
  );
  if (finalUnit) {
    const { states: own } = stepStates(finalUnit, S.finishRun, (resultPath) =>
      catchAll(S.finishRun, resultPath),
    );
    Object.assign(states, own);
  }
  states[S.finishRun] = controlState(
    { action: 'finishRun' },
    {
      // Its answer always holds `status` and `error` (FinishRunResult): the choice below reads both.
      resultPath: '$.finish',
      // Releasing locks matters more than latency: retry harder than other control states.
      retry: [
        {
          ErrorEquals: ['States.Timeout', 'Lambda.Unknown'],
          IntervalSeconds: 2,
          MaxAttempts: 5,
          BackoffRate: 2,
        },
      ],
      catch: [catchAll(S.error, '$.error')],
      Next: S.result,
    },
  );
  const failState = (status: Exclude<RunStatus, 'SUCCESSFUL'>, cause: string): AslState => ({
    Type: 'Fail',
    Error: FAIL_ERROR_OF[status],
    Cause: cause,
  });
  states[S.result] = {
    Type: 'Choice',
    Choices: [
      { Variable: '$.finish.Payload.status', StringEquals: 'SUCCESSFUL', Next: S.succeeded },
      { Variable: '$.finish.Payload.error', StringEquals: ERROR_NAMES.pipelineTimedOut, Next: S.timedOut },
      { Variable: '$.finish.Payload.status', StringEquals: 'FAILED', Next: S.failed },
      { Variable: '$.finish.Payload.status', StringEquals: 'STOPPED', Next: S.stopped },
    ],
    Default: S.error,
  };
  states[S.succeeded] = { Type: 'Succeed' };
  states[S.failed] = failState('FAILED', 'A step failed; the final step ran and locks were released.');
  states[S.stopped] = failState(
    'STOPPED',
    'The pipeline was stopped; the final step ran and locks were released.',
  );
  states[S.timedOut] = {
    Type: 'Fail',
    Error: ERROR_NAMES.pipelineTimedOut,
    Cause: 'A step exceeded its max-time; the final step ran and locks were released.',
  };
  states[S.error] = failState('ERROR', 'Finale could not complete the run; see the run history.');

  return { Comment: comment, StartAt: S.start, States: states };
}

export function compile(input: CompileInput): Plan {
  const { file, pipeline } = input;
  const specs = buildSpecs(file, pipeline.items, {
    ...(input.stop ? { stop: input.stop } : {}),
    ...(input.changedFiles ? { changedFiles: input.changedFiles } : {}),
  });
  const names = new StateNames();
  names.reserve(...Object.values(RUN_STATES));
  const { units, finalUnit } = planUnits(pipeline, specs.steps, specs.locks, names);

  const stateNameOf = new Map<number, string>();
  for (const unit of [...units, ...(finalUnit ? [finalUnit] : [])]) {
    for (const step of unit.kind === 'step' ? [unit] : unit.branches)
      stateNameOf.set(step.spec.index, step.task);
  }
  const steps = specs.steps.map((spec) => ({ ...spec, stateName: stateNameOf.get(spec.index) ?? '' }));

  const definition = buildDefinition(units, finalUnit, `Finale pipeline ${pipeline.key}`);
  const repeats = new Map<string, number>();
  for (const unit of [...units, ...(finalUnit ? [finalUnit] : [])]) {
    for (const step of unit.kind === 'step' ? [unit] : unit.branches) {
      const attempts = 1 + step.spec.onFail.maxRetryCount;
      for (const name of [step.begin, step.task, step.end]) repeats.set(name, attempts);
    }
  }
  const stats = checkLimits(pipeline.key, definition, steps, repeats);
  const body = { version: 1 as const, pipeline: pipeline.key, definition, steps, locks: specs.locks };
  return { ...body, stats, notes: specs.notes, hash: hashPlan(body) };
}
