// The state graph of a compiled definition: every state, wherever it sits (top level or inside a
// Parallel branch), and every way out of it. The definition is plain JSON (AslState is a record), so
// each field is read defensively: a malformed field is a missing edge, which the prover reports.

import type { AslDefinition, AslState } from '../compiler/plan';

/** Where a state inside a Parallel branch sits; top-level states have none. */
export interface BranchScope {
  readonly parallel: string;
  readonly branch: number;
}

export interface Located {
  readonly name: string;
  readonly state: AslState;
  readonly scope?: BranchScope;
}

export interface Catcher {
  readonly errorEquals: readonly string[];
  readonly next: string | undefined;
  /** undefined: Step Functions' default `$` (the error object replaces the input). */
  readonly resultPath: string | null | undefined;
}

/** A way out of a state other than an error: its Next, a Choice rule, its Default, a branch, its End. */
type Edge =
  | { readonly kind: 'next'; readonly label: string; readonly to: string | undefined; readonly rule?: number }
  | { readonly kind: 'branch'; readonly label: string; readonly to: string; readonly branch: number }
  /** End: true, or a Succeed state: the end of a branch, or of the execution at the top level. */
  | { readonly kind: 'end' }
  /** A Fail state: its error leaves the branch, or ends the execution at the top level. */
  | { readonly kind: 'fail' }
  /** Neither Next nor End (nor Choices) on a state that needs one. */
  | { readonly kind: 'stuck' };

export interface StateGraph {
  readonly startAt: string;
  readonly states: ReadonlyMap<string, Located>;
  /** Per Parallel state, the StartAt of each branch. */
  readonly branchStarts: ReadonlyMap<string, readonly string[]>;
  /** Structural problems: duplicate names, a branch whose StartAt is not one of its states. */
  readonly problems: readonly string[];
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const text = (state: AslState, field: string): string | undefined => {
  const value = state[field];
  return typeof value === 'string' ? value : undefined;
};

/** The static control request a Task sends, if it is one: `Parameters.Payload`. */
export function payloadOf(state: AslState): Record<string, unknown> | undefined {
  const parameters = state.Parameters;
  if (!isRecord(parameters)) return undefined;
  return isRecord(parameters.Payload) ? parameters.Payload : undefined;
}

export function actionOf(state: AslState): string | undefined {
  const action = payloadOf(state)?.action;
  return state.Type === 'Task' && typeof action === 'string' ? action : undefined;
}

interface Branch {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
}

function branchesOf(state: AslState): readonly Branch[] {
  if (state.Type !== 'Parallel' || !Array.isArray(state.Branches)) return [];
  return state.Branches.filter(
    (b): b is Branch => isRecord(b) && typeof b.StartAt === 'string' && isRecord(b.States),
  );
}

export function buildGraph(definition: AslDefinition): StateGraph {
  const states = new Map<string, Located>();
  const branchStarts = new Map<string, string[]>();
  const problems: string[] = [];
  // State names are unique across the whole machine (ASL), so one flat map serves every scope.
  const add = (all: Record<string, AslState>, scope: BranchScope | undefined) => {
    for (const [name, state] of Object.entries(all)) {
      if (states.has(name)) problems.push(`two states are named ${name}`);
      states.set(name, { name, state, ...(scope ? { scope } : {}) });
      const branches = branchesOf(state);
      branchStarts.set(
        name,
        branches.map((b) => b.StartAt),
      );
      branches.forEach((branch, index) => {
        if (!(branch.StartAt in branch.States))
          problems.push(
            `branch ${index + 1} of ${name} starts at ${branch.StartAt}, which is not one of its states`,
          );
        add(branch.States, { parallel: name, branch: index });
      });
    }
  };
  add(definition.States, undefined);
  if (!(definition.StartAt in definition.States))
    problems.push(`StartAt names ${definition.StartAt}, which is not a top-level state`);
  return { startAt: definition.StartAt, states, branchStarts, problems };
}

export function catchersOf(state: AslState): readonly Catcher[] {
  if (!Array.isArray(state.Catch)) return [];
  return state.Catch.filter(isRecord).map((c) => ({
    errorEquals: Array.isArray(c.ErrorEquals)
      ? c.ErrorEquals.filter((e): e is string => typeof e === 'string')
      : [],
    next: typeof c.Next === 'string' ? c.Next : undefined,
    resultPath: c.ResultPath === null ? null : typeof c.ResultPath === 'string' ? c.ResultPath : undefined,
  }));
}

/** A Choice rule as written: a comparison, or And/Or/Not of rules. */
export type Rule = Readonly<Record<string, unknown>>;

export function choiceRules(state: AslState): readonly Rule[] {
  return state.Type === 'Choice' && Array.isArray(state.Choices) ? state.Choices.filter(isRecord) : [];
}

/** Every way out of a state except its errors (errors.ts decides those). */
export function edgesOf(located: Located, graph: StateGraph): readonly Edge[] {
  const { state, name } = located;
  switch (state.Type) {
    case 'Choice': {
      const rules = choiceRules(state).map(
        (rule, i): Edge => ({
          kind: 'next',
          label: `rule ${i + 1}`,
          to: typeof rule.Next === 'string' ? rule.Next : undefined,
          rule: i,
        }),
      );
      const fallback = text(state, 'Default');
      return fallback === undefined ? rules : [...rules, { kind: 'next', label: 'Default', to: fallback }];
    }
    case 'Succeed':
      return [{ kind: 'end' }];
    case 'Fail':
      return [{ kind: 'fail' }];
    case 'Parallel':
      // Its Next is taken when a branch ends (see the prover); leaving it means entering a branch.
      return (graph.branchStarts.get(name) ?? []).map((to, branch) => ({
        kind: 'branch',
        label: `branch ${branch + 1}`,
        to,
        branch,
      }));
    default:
      return successOf(state);
  }
}

/** Next or End: a Task's, a Pass's, a Wait's, and a Parallel's once its branches are done. */
export function successOf(state: AslState): readonly Edge[] {
  const next = text(state, 'Next');
  if (next !== undefined) return [{ kind: 'next', label: 'Next', to: next }];
  if (state.End === true) return [{ kind: 'end' }];
  return [{ kind: 'stuck' }];
}

/** Whether `to` may be the target of an edge out of `from`: a state of the same scope. */
export function sameScope(graph: StateGraph, from: Located, to: string): boolean {
  const target = graph.states.get(to);
  if (!target) return false;
  return target.scope?.parallel === from.scope?.parallel && target.scope?.branch === from.scope?.branch;
}
