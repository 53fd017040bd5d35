// Broken definitions the verifier must reject, made from compiled plans: each names the property that
// fails, and its counterexample runs through the state that was changed.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RUN_STATES } from '../../../statemachine/compiler/index';
import type { Plan } from '../../../statemachine/compiler/plan';
import {
  formatCounterexample,
  type Property,
  type Verdict,
  verifyPlan,
} from '../../../statemachine/verify/index';
import { planOf } from '../compiler/support';
import { allStates, finalUnit, MUTATIONS, type MutationKind, mutate, targets } from './mutate';
import { OWN_PLANS } from './support';

/** The violations of a property whose counterexample passes through (or stops at) `state`. */
function violationsThrough(verdict: Verdict, property: Property, state: string) {
  return verdict.violations.filter(
    (v) => v.property === property && (v.state === state || v.path.some((step) => step.state === state)),
  );
}

function expectRejected(plan: Plan, property: Property, state: string) {
  const verdict = verifyPlan(plan);
  expect(verdict.verified).toBe(false);
  const found = violationsThrough(verdict, property, state);
  const shown = verdict.violations.map((v) => `${v.property}: ${v.message}\n  ${formatCounterexample(v)}`);
  expect(found, shown.join('\n')).not.toEqual([]);
  return found[0]!;
}

const stateNamed = (plan: Plan, name: string) => allStates(plan).find((s) => s.name === name)!.state;

/** The Begin of a step's task: the beginStep whose Next it is. */
function beginOf(plan: Plan, task: string): string {
  const begin = allStates(plan).find(
    (s) =>
      s.state.Next === task &&
      (s.state.Parameters as { Payload?: { action?: string } }).Payload?.action === 'beginStep',
  );
  return begin!.name;
}

describe('mutations the verifier rejects', () => {
  it('a step Begin without its Catch: its errors escape', () => {
    const plan = planOf('plain');
    const begin = beginOf(plan, plan.steps[1]!.stateName);
    const violation = expectRejected(mutate(plan, 'removeCatch', begin).plan, 'errors', begin);
    expect(violation.message).toContain(`${begin} can raise any error`);
    expect(violation.uncaught).toBe('any error');
    expect(formatCounterexample(violation)).toBe(
      `Start --[Default]--> Start run → Begin: Build → Build → End: Build → ${begin} --[any error]--> ✗ (the execution fails)`,
    );
  });

  it("a Task without its States.ALL catcher: 'any other error' is not caught", () => {
    const plan = planOf('plain');
    const task = plan.steps[0]!.stateName;
    const violation = expectRejected(mutate(plan, 'removeAllCatcher', task).plan, 'errors', task);
    expect(violation.message).toContain('no Catch takes it');
  });

  it('only the named errors are caught when a Catch names them', () => {
    const plan = planOf('plain');
    const copy = structuredClone(plan);
    const begin = beginOf(copy, copy.steps[0]!.stateName);
    stateNamed(copy, begin).Catch = [{ ErrorEquals: ['Run.NotRunning'], Next: RUN_STATES.finalize }];
    const violation = expectRejected(copy, 'errors', begin);
    expect(violation.uncaught).toBe('any error');
  });

  it('Finalize going straight to Finish run: the final step is skipped', () => {
    const plan = planOf('final');
    const copy = structuredClone(plan);
    stateNamed(copy, RUN_STATES.finalize).Next = RUN_STATES.finishRun;
    const violation = expectRejected(copy, 'final-path', RUN_STATES.finalize);
    expect(violation.message).toBe(`${RUN_STATES.finishRun} is reached without the final step`);
    expect(formatCounterexample(violation)).toBe('Start --[rule 1]--> Finalize → Finish run');
  });

  it('Finish run going back to Finalize: the final step runs twice', () => {
    const plan = planOf('final');
    const violation = expectRejected(
      mutate(plan, 'finishTwice', RUN_STATES.finishRun).plan,
      'final-path',
      RUN_STATES.finishRun,
    );
    expect(violation.message).toMatch(/final step .* is entered after Finish run/);
  });

  it('a Catch that goes to a Fail state of its own', () => {
    const plan = planOf('plain');
    const begin = beginOf(plan, plan.steps[0]!.stateName);
    const violation = expectRejected(mutate(plan, 'catchToFail', begin).plan, 'final-path', begin);
    expect(violation.message).toContain(
      'ends in Broken end (Fail), which is not an outcome of Pipeline result',
    );
    expect(violation.path.at(-2)).toEqual({ state: begin, via: 'Next' });
    expect(violation.path.at(-1)).toEqual({ state: 'Broken end', via: 'States.ALL' });
  });

  it('a Catch straight to one of the outcomes: Finish run and the final step are skipped', () => {
    const plan = structuredClone(planOf('final'));
    const startRun = stateNamed(plan, RUN_STATES.startRun);
    (startRun.Catch as { Next: string }[])[0]!.Next = RUN_STATES.failed;
    expectRejected(plan, 'final-path', RUN_STATES.startRun);
  });

  it('a ResultSelector reading a waitForTaskToken result: States.Runtime', () => {
    const plan = planOf('manual');
    const [approval] = targets(plan, 'waitResultSelector');
    const violation = expectRejected(mutate(plan, 'waitResultSelector', approval!).plan, 'errors', approval!);
    expect(violation.uncaught).toBe('States.Runtime');
    expect(violation.message).toContain('$.approved, which may be missing');
  });

  it('a Choice rule on a path nobody set: States.Runtime', () => {
    const plan = planOf('plain');
    const violation = expectRejected(
      mutate(plan, 'choiceOnUnsetPath', RUN_STATES.start).plan,
      'errors',
      RUN_STATES.start,
    );
    expect(violation.message).toContain('$.nobody.set.this');
    expect(formatCounterexample(violation)).toBe('Start --[States.Runtime]--> ✗ (the execution fails)');
  });

  it('no release of the lock, and no Finish run: the lock is still held at the end', () => {
    const plan = planOf('deployment-stage');
    const violation = expectRejected(
      mutate(plan, 'dropLockRelease', RUN_STATES.finishRun).plan,
      'locks',
      RUN_STATES.finishRun,
    );
    expect(violation.message).toContain('still holding deployment:production');
  });

  it('dropping only the release is fine: Finish run releases what the run still holds', () => {
    const plan = structuredClone(planOf('deployment-stage'));
    for (const { state } of allStates(plan)) {
      const payload = (state.Parameters as { Payload?: Record<string, unknown> } | undefined)?.Payload;
      if (payload) delete payload.release;
    }
    expect(verifyPlan(plan).violations).toEqual([]);
  });

  it('a Parallel without its Catch', () => {
    const plan = planOf('parallel');
    const [parallel] = targets(plan, 'removeParallelCatch');
    const violation = expectRejected(
      mutate(plan, 'removeParallelCatch', parallel!).plan,
      'errors',
      parallel!,
    );
    expect(violation.message).toContain('a Parallel state can fail on its own');
  });

  it('a branch error that its Parallel does not catch escapes', () => {
    const plan = structuredClone(planOf('parallel'));
    const [parallel] = targets(plan, 'removeParallelCatch');
    delete stateNamed(plan, parallel!).Catch;
    const begin = beginOf(plan, plan.steps[0]!.stateName);
    delete stateNamed(plan, begin).Catch;
    const violation = expectRejected(plan, 'errors', begin);
    expect(violation.path.map((s) => s.state)).toContain(parallel);
  });

  it('a Choice without Default whose rules may all be false: States.NoChoiceMatched', () => {
    const plan = planOf('parallel');
    const check = allStates(plan).find((s) => s.name.startsWith('Check: '))!.name;
    const violation = expectRejected(mutate(plan, 'dropDefault', check).plan, 'errors', check);
    expect(violation.uncaught).toBe('States.NoChoiceMatched');
  });

  it('a path inside an intrinsic function that may be missing', () => {
    const plan = structuredClone(planOf('plain'));
    const task = stateNamed(plan, plan.steps[0]!.stateName);
    (task.Parameters as Record<string, unknown>)['Group.$'] =
      "States.Format('finale:{}', $$.Execution.Input.nope)";
    const violation = expectRejected(plan, 'errors', plan.steps[0]!.stateName);
    expect(violation.message).toContain('$$.Execution.Input.nope');
  });

  it('a task definition of a step the plan skips is not in the execution input', () => {
    const plan = planOf('plain');
    const skipped = { ...plan, steps: plan.steps.map((s, i) => (i === 1 ? { ...s, skipped: true } : s)) };
    expectRejected(skipped, 'errors', plan.steps[1]!.stateName);
  });
});

describe('random single mutations of compiled definitions', () => {
  const candidates = OWN_PLANS.flatMap(({ name, plan }) =>
    (Object.keys(MUTATIONS) as MutationKind[]).flatMap((kind) =>
      targets(plan, kind).map((target) => ({ name, plan, kind, target })),
    ),
  );

  it('has candidates of every kind', () => {
    const kinds = new Set(candidates.map((c) => c.kind));
    expect([...kinds].sort()).toEqual(Object.keys(MUTATIONS).sort());
    expect(candidates.length).toBeGreaterThan(100);
  });

  it('are all rejected, with a counterexample through the mutated state', () => {
    fc.assert(
      fc.property(fc.constantFrom(...candidates), ({ plan, kind, target }) => {
        const mutant = mutate(plan, kind, target);
        const verdict = verifyPlan(mutant.plan);
        return !verdict.verified && violationsThrough(verdict, mutant.property, target).length > 0;
      }),
      { numRuns: 300 },
    );
  });

  it('leave the final unit of a plan without one alone', () => {
    expect(finalUnit(planOf('plain'))).toEqual([]);
    expect(finalUnit(planOf('final'))).toHaveLength(3);
  });
});
