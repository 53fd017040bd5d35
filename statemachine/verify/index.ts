// `finale verify`: proves properties of a compiled definition by exploring every path of its states.
//   1. every path runs the final step (if any) exactly once, then Finish run, then ends in one of the
//      outcomes of Pipeline result, and no other way;
//   2. every lock a path takes is released;
//   3. every error a state can raise is caught on the way to the final path.

import type { Plan } from '../compiler/plan';
import { buildGraph } from './graph';
import { analyzePaths, executionInputShape } from './paths';
import { type Proof, prove, type Violation } from './prove';
import { findRoles } from './roles';

export { PROPERTIES, type Property, type Violation } from './prove';
export { formatCounterexample } from './report';

export interface Verdict extends Proof {
  readonly verified: boolean;
}

/** The plan's definition, against the execution input its steps get; the plan says if a final step runs. */
export function verifyPlan(plan: Pick<Plan, 'definition' | 'steps'>): Verdict {
  const graph = buildGraph(plan.definition);
  const roles = findRoles(graph);
  const expectFinal = plan.steps.some((step) => step.kind === 'final' && !step.skipped);
  const structure: Violation[] = graph.problems.map((message) => ({
    property: 'final-path',
    state: graph.startAt,
    message,
    path: [],
  }));
  if (expectFinal && (roles.finalTask === undefined || roles.finalBegin === undefined)) {
    structure.push({
      property: 'final-path',
      state: roles.finalTask ?? graph.startAt,
      message:
        roles.finalTask === undefined
          ? 'the pipeline has a final step, but no Task state of the definition is it'
          : `the final step ${roles.finalTask} has no Begin state (a beginStep whose Next it is)`,
      path: [],
    });
  }
  const facts = analyzePaths(graph, executionInputShape(plan.steps));
  const proof = prove(graph, facts, roles, { expectFinal });
  const violations = [...structure, ...proof.violations];
  return { ...proof, violations, verified: violations.length === 0 };
}
