// Mutations of compiled plans, each of which breaks a property the verifier proves: a deep copy of the
// plan with one change, the state the change was made to, and the property it breaks.

import { FINAL_STEP_PREFIX, RUN_STATES } from '../../../statemachine/compiler/index';
import type { AslState, Plan } from '../../../statemachine/compiler/plan';
import { RESOURCES } from '../../../statemachine/compiler/plan';
import type { Property } from '../../../statemachine/verify/index';

export interface Mutant {
  readonly kind: MutationKind;
  readonly plan: Plan;
  /** The mutated state: the counterexample must name it. */
  readonly target: string;
  readonly property: Property;
}

type States = Record<string, AslState>;
type Mutable = Record<string, unknown> & { Type: string };

interface Found {
  readonly name: string;
  readonly state: Mutable;
  /** The States object the state sits in (the top level, or a Parallel branch). */
  readonly scope: States;
  readonly topLevel: boolean;
}

/** Every state of a definition, branches included, as mutable objects of the copy. */
export function allStates(plan: Plan): Found[] {
  const found: Found[] = [];
  const walk = (states: States, topLevel: boolean) => {
    for (const [name, state] of Object.entries(states)) {
      found.push({ name, state: state as Mutable, scope: states, topLevel });
      for (const branch of (state.Branches as { States: States }[] | undefined) ?? [])
        walk(branch.States, false);
    }
  };
  walk(plan.definition.States, true);
  return found;
}

const payload = (state: Mutable) =>
  ((state.Parameters as Record<string, unknown> | undefined)?.Payload ?? {}) as Record<string, unknown>;
const catchers = (state: Mutable) => (state.Catch ?? []) as { ErrorEquals: string[]; Next: string }[];

/** The final step's Task, its Begin (the beginStep whose Next it is) and its End (its Next). */
export function finalUnit(plan: Plan): readonly string[] {
  const top = allStates(plan).filter((s) => s.topLevel);
  const task = top.find((s) => s.name.startsWith(FINAL_STEP_PREFIX) && s.state.Type === 'Task');
  if (!task) return [];
  const begin = top.find((s) => payload(s.state).action === 'beginStep' && s.state.Next === task.name);
  return [begin?.name, task.name, task.state.Next as string | undefined].filter((n): n is string => !!n);
}

export const MUTATIONS = {
  /** A Task (or Parallel) without its Catch: its errors end the execution. */
  removeCatch: {
    property: 'errors',
    applies: (s: Found) => s.topLevel && catchers(s.state).length > 0,
    apply: (s: Found) => {
      delete s.state.Catch;
    },
  },
  /** The States.ALL catcher of a Task removed: any other error ends the execution. */
  removeAllCatcher: {
    property: 'errors',
    applies: (s: Found) =>
      s.topLevel &&
      s.state.Type === 'Task' &&
      catchers(s.state).some((c) => c.ErrorEquals.includes('States.ALL')),
    apply: (s: Found) => {
      s.state.Catch = catchers(s.state).filter((c) => !c.ErrorEquals.includes('States.ALL'));
    },
  },
  /** A Catch that ends the execution in a Fail state of its own. */
  catchToFail: {
    property: 'final-path',
    applies: (s: Found) => s.topLevel && catchers(s.state).length > 0,
    apply: (s: Found) => {
      s.scope['Broken end'] = { Type: 'Fail', Error: 'Broken', Cause: 'a mutation' };
      catchers(s.state)[0]!.Next = 'Broken end';
    },
  },
  /** A Parameters field whose path nobody set: States.Runtime, which nothing catches. */
  unsetParameter: {
    property: 'errors',
    applies: (s: Found) => s.state.Type === 'Task',
    apply: (s: Found) => {
      s.state.Parameters = { ...(s.state.Parameters as object), 'nobody.$': '$.nobody.set.this' };
    },
  },
  /** A ResultSelector reading a field of a waitForTaskToken result, of which nothing is known. */
  waitResultSelector: {
    property: 'errors',
    applies: (s: Found) => s.state.Resource === RESOURCES.controlWait,
    apply: (s: Found) => {
      s.state.ResultSelector = { 'approved.$': '$.approved' };
    },
  },
  /** A Choice rule on a path nobody set. */
  choiceOnUnsetPath: {
    property: 'errors',
    applies: (s: Found) => s.state.Type === 'Choice',
    apply: (s: Found) => {
      const rules = s.state.Choices as Record<string, unknown>[];
      rules.unshift({ Variable: '$.nobody.set.this', BooleanEquals: true, Next: rules[0]!.Next });
    },
  },
  /** A Choice without Default: when no rule matches, States.NoChoiceMatched. */
  dropDefault: {
    property: 'errors',
    applies: (s: Found) => s.state.Type === 'Choice' && s.state.Default !== undefined,
    apply: (s: Found) => {
      delete s.state.Default;
    },
  },
  /** A Parallel without its Catch: a Parallel can fail on its own. */
  removeParallelCatch: {
    property: 'errors',
    applies: (s: Found) => s.state.Type === 'Parallel' && s.state.Catch !== undefined,
    apply: (s: Found) => {
      delete s.state.Catch;
    },
  },
  /** A Next past the final step, straight to Finish run. */
  skipFinal: {
    property: 'final-path',
    applies: (s: Found, plan: Plan) =>
      s.topLevel &&
      finalUnit(plan).length === 3 &&
      !finalUnit(plan).includes(s.name) &&
      s.name !== RUN_STATES.finishRun &&
      (s.state.Type === 'Task' || s.state.Type === 'Parallel') &&
      typeof s.state.Next === 'string',
    apply: (s: Found) => {
      s.state.Next = RUN_STATES.finishRun;
    },
  },
  /** Finish run going back to Finalize: the final step runs twice. */
  finishTwice: {
    property: 'final-path',
    applies: (s: Found) => s.name === RUN_STATES.finishRun,
    apply: (s: Found) => {
      s.state.Next = RUN_STATES.finalize;
    },
  },
  /** No End releases the lock, and Finish run no longer does either. */
  dropLockRelease: {
    property: 'locks',
    applies: (s: Found) => s.name === RUN_STATES.finishRun,
    apply: (s: Found, plan: Plan) => {
      for (const other of allStates(plan)) delete payload(other.state).release;
      payload(s.state).action = 'recordEnd';
    },
  },
} as const satisfies Record<
  string,
  {
    readonly property: Property;
    readonly applies: (s: Found, plan: Plan) => boolean;
    readonly apply: (s: Found, plan: Plan) => void;
  }
>;

export type MutationKind = keyof typeof MUTATIONS;

/** The states a mutation applies to in a plan (dropLockRelease only where there are locks). */
export function targets(plan: Plan, kind: MutationKind): string[] {
  if (kind === 'dropLockRelease' && plan.locks.length === 0) return [];
  const mutation = MUTATIONS[kind];
  return allStates(plan)
    .filter((s) => mutation.applies(s, plan))
    .map((s) => s.name);
}

export function mutate(plan: Plan, kind: MutationKind, target: string): Mutant {
  const copy = structuredClone(plan) as Plan;
  const found = allStates(copy).find((s) => s.name === target);
  if (!found) throw new Error(`no state ${target}`);
  const mutation = MUTATIONS[kind];
  mutation.apply(found, copy);
  return { kind, plan: copy, target, property: mutation.property };
}
