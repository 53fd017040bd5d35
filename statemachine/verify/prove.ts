// The search: every path from StartAt, breadth-first over (state, entries into the final step's Begin
// capped at 2, held locks, whether Finish run was passed). Each configuration is explored once, so the
// search ends, and parent pointers give the shortest counterexample for each violation.

import {
  catcherFor,
  catcherLabel,
  catchersIn,
  isCatchable,
  type RaisedError,
  RUNTIME,
  raisedBy,
} from './errors';
import { type Catcher, edgesOf, type Located, type StateGraph, sameScope, successOf } from './graph';
import { locksAfter } from './locks';
import type { PathFacts } from './paths';
import type { Roles } from './roles';

export type Property = 'final-path' | 'locks' | 'errors';

export const PROPERTIES: Readonly<Record<Property, string>> = {
  'final-path': 'every path runs the final step once, then Finish run, then ends in a pipeline result',
  locks: 'every lock taken is released',
  errors: 'every error is caught on the way to the final path',
};

export interface PathStep {
  readonly state: string;
  /** The edge taken into this state: Next, Default, rule n, branch n, or the Catch's ErrorEquals. */
  readonly via?: string;
}

export interface Violation {
  readonly property: Property;
  /** The state where the property fails. */
  readonly state: string;
  readonly message: string;
  /** From StartAt to that state (or to the state an edge from it would enter). */
  readonly path: readonly PathStep[];
  /** When the path ends in an error nothing catches: that error. */
  readonly uncaught?: string;
}

export interface Proof {
  readonly states: number;
  /** Configurations explored: paths that differ in state, final entries, held locks or Finish run. */
  readonly paths: number;
  readonly violations: readonly Violation[];
}

interface Node {
  readonly state: string;
  readonly finals: number;
  readonly locks: readonly string[];
  readonly finished: boolean;
  readonly parent: number;
  readonly via: string | undefined;
}

const keyOf = (n: Omit<Node, 'parent' | 'via'>) =>
  `${n.state}\u0000${n.finals}\u0000${n.finished ? 1 : 0}\u0000${n.locks.join('\u0001')}`;

export function prove(
  graph: StateGraph,
  facts: PathFacts,
  roles: Roles,
  options: { readonly expectFinal: boolean },
): Proof {
  const nodes: Node[] = [];
  const seen = new Set<string>();
  const violations = new Map<string, Violation>();

  const pathTo = (at: number, extra?: PathStep): PathStep[] => {
    const steps: PathStep[] = extra ? [extra] : [];
    for (let i = at; i >= 0; i = nodes[i]!.parent) {
      const { state, via } = nodes[i]!;
      steps.push(via === undefined ? { state } : { state, via });
    }
    return steps.reverse();
  };
  const report = (
    property: Property,
    state: string,
    message: string,
    at: number,
    more: { readonly into?: PathStep; readonly uncaught?: string } = {},
  ) => {
    const key = `${property}\u0000${message}`;
    if (violations.has(key)) return;
    violations.set(key, {
      property,
      state,
      message,
      path: pathTo(at, more.into),
      ...(more.uncaught !== undefined ? { uncaught: more.uncaught } : {}),
    });
  };
  const push = (node: Node) => {
    const key = keyOf(node);
    if (seen.has(key)) return;
    seen.add(key);
    nodes.push(node);
  };

  /** Takes an edge: `leaving` is the state the run leaves, `owner` the state whose field names `to`. */
  const enter = (
    at: number,
    leaving: Located,
    owner: Located | undefined,
    to: string,
    via: string,
    success: boolean,
  ) => {
    const node = nodes[at]!;
    const into = { state: to, via };
    if (!graph.states.has(to) || (owner && !sameScope(graph, owner, to))) {
      report(
        'final-path',
        leaving.name,
        `${(owner ?? leaving).name} goes to ${to}, which is not a state it can reach`,
        at,
        { into },
      );
      return;
    }
    const locks = locksAfter(leaving.state, node.locks, success);
    const finished = node.finished || leaving.name === roles.finishRun;
    let finals = node.finals;
    if (to === roles.finalBegin) {
      if (finished) {
        report('final-path', to, `the final step (${to}) is entered after ${roles.finishRun}`, at, { into });
        return;
      }
      finals++;
      if (finals > 1) {
        report('final-path', to, `the final step (${to}) is entered a second time`, at, { into });
        return;
      }
    }
    if (to === roles.finishRun) {
      if (finished) {
        report('final-path', to, `${roles.finishRun} is entered a second time`, at, { into });
        return;
      }
      if (options.expectFinal && finals === 0) {
        report('final-path', to, `${roles.finishRun} is reached without the final step`, at, { into });
        return;
      }
    }
    push({ state: to, finals, locks, finished, parent: at, via });
  };

  const uncaught = (at: number, located: Located, error: RaisedError, message: string) =>
    report(
      'errors',
      located.name,
      `${located.name} can raise ${error.name} (${error.reason}); ${message}`,
      at,
      {
        uncaught: error.name,
      },
    );

  /** An error goes to the first Catcher that takes it, in the state or, out of a branch, its Parallel. */
  const route = (at: number, located: Located, error: RaisedError) => {
    if (!isCatchable(error)) {
      uncaught(at, located, error, 'no Catch can take it, so the execution fails');
      return;
    }
    for (let owner: Located | undefined = located; owner; ) {
      const catchers: readonly Catcher[] = catchersIn(owner.state);
      const index = catcherFor(catchers, error.name);
      if (index !== undefined) {
        const catcher = catchers[index]!;
        const label = owner === located ? catcherLabel(catcher) : `${catcherLabel(catcher)} of ${owner.name}`;
        if (catcher.next === undefined)
          report('final-path', owner.name, `a Catch of ${owner.name} names no state`, at);
        else enter(at, located, owner, catcher.next, label, false);
        return;
      }
      owner = owner.scope ? graph.states.get(owner.scope.parallel) : undefined;
    }
    uncaught(at, located, error, 'no Catch takes it, so the execution fails');
  };

  /** A branch ended normally: the run goes on after its Parallel (or ends that Parallel's own branch). */
  const endOfBranch = (at: number, leaving: Located, inner: Located) => {
    const parallel = graph.states.get(inner.scope!.parallel)!;
    for (const edge of successOf(parallel.state)) {
      if (edge.kind === 'next' && edge.to !== undefined)
        enter(at, leaving, parallel, edge.to, `end of ${parallel.name}`, true);
      else if (edge.kind === 'end' && parallel.scope) endOfBranch(at, leaving, parallel);
      else if (edge.kind === 'end') outsideBranch(at, parallel);
      else report('final-path', parallel.name, `${parallel.name} has neither Next nor End: no way out`, at);
    }
  };

  const outsideBranch = (at: number, located: Located) =>
    report(
      'final-path',
      located.name,
      `${located.name} ends the execution with End: true, outside a Parallel branch`,
      at,
    );

  /** The execution ends here: it must be a pipeline result, after the final step and Finish run, lock-free. */
  const terminal = (at: number, located: Located) => {
    const node = nodes[at]!;
    const { name } = located;
    if (!roles.outcomes.has(name))
      report(
        'final-path',
        name,
        `the execution ends in ${name} (${located.state.Type}), which is not an outcome of ${roles.result}`,
        at,
      );
    else if (!node.finished)
      report('final-path', name, `the execution ends in ${name} without passing ${roles.finishRun}`, at);
    else if (options.expectFinal && node.finals !== 1)
      report('final-path', name, `the execution ends in ${name} without reaching the final step`, at);
    if (node.locks.length > 0)
      report('locks', name, `the execution ends in ${name} still holding ${node.locks.join(', ')}`, at);
  };

  const enclosingCatchers = (located: Located): Catcher[] => {
    const catchers: Catcher[] = [];
    for (let scope = located.scope; scope; ) {
      const parallel = graph.states.get(scope.parallel)!;
      catchers.push(...catchersIn(parallel.state));
      scope = parallel.scope;
    }
    return catchers;
  };

  const expand = (at: number) => {
    const located = graph.states.get(nodes[at]!.state)!;
    const { state, name } = located;
    // Success edges first: of two counterexamples as short, the one along the happy path reads better.
    for (const edge of edgesOf(located, graph)) {
      switch (edge.kind) {
        case 'next':
          if (edge.to === undefined)
            report('final-path', name, `${name}: its ${edge.label} names no state`, at);
          else enter(at, located, located, edge.to, edge.label, true);
          break;
        case 'branch':
          enter(at, located, undefined, edge.to, edge.label, true);
          break;
        case 'end':
          if (located.scope) endOfBranch(at, located, located);
          else if (state.Type === 'Succeed') terminal(at, located);
          else outsideBranch(at, located);
          break;
        case 'fail':
          if (!located.scope) terminal(at, located);
          break;
        case 'stuck':
          report('final-path', name, `${name} has neither Next nor End: no way out`, at);
          break;
      }
    }
    const topLevelFail = state.Type === 'Fail' && located.scope === undefined;
    for (const error of raisedBy(state, facts.missing.get(name) ?? [], enclosingCatchers(located))) {
      // A top-level Fail state's own error ends the execution: where it may end is the final path's rule.
      if (topLevelFail && error.name !== RUNTIME) continue;
      route(at, located, error);
    }
  };

  if (graph.states.has(graph.startAt)) {
    const start = {
      state: graph.startAt,
      finals: graph.startAt === roles.finalBegin ? 1 : 0,
      locks: [],
      finished: false,
    };
    push({ ...start, parent: -1, via: undefined });
  }
  for (let at = 0; at < nodes.length; at++) expand(at);
  return { states: graph.states.size, paths: nodes.length, violations: [...violations.values()] };
}
