// The states the properties speak of, recognised by the compiler's own conventions (compile.ts):
// the final step's Task and its Begin, Finish run, and the outcomes of Pipeline result.

import { FINAL_STEP_PREFIX, RUN_STATES } from '../compiler/compile';
import { actionOf, choiceRules, type StateGraph, text } from './graph';

export interface Roles {
  /** The final step's Task, when the definition has one. */
  readonly finalTask?: string;
  /** Its Begin: entering it is reaching the final step (it may decide the step ran already). */
  readonly finalBegin?: string;
  readonly finishRun: string;
  readonly result: string;
  /** The Succeed and Fail states Pipeline result leads to: the only ways an execution may end. */
  readonly outcomes: ReadonlySet<string>;
}

export function findRoles(graph: StateGraph): Roles {
  const topLevel = [...graph.states.values()].filter((s) => s.scope === undefined);
  const finalTask = topLevel.find(
    (s) => s.state.Type === 'Task' && s.name.startsWith(FINAL_STEP_PREFIX),
  )?.name;
  // The Begin is the beginStep whose Next is the final task (its catch-all goes there too).
  const finalBegin =
    finalTask === undefined
      ? undefined
      : topLevel.find((s) => actionOf(s.state) === 'beginStep' && text(s.state, 'Next') === finalTask)?.name;
  const result = graph.states.get(RUN_STATES.result);
  const targets =
    result?.state.Type === 'Choice'
      ? [...choiceRules(result.state).map((r) => r.Next), result.state.Default]
      : [];
  const outcomes = new Set(
    targets.filter((name): name is string => {
      if (typeof name !== 'string') return false;
      const target = graph.states.get(name);
      return (
        target?.scope === undefined && (target?.state.Type === 'Succeed' || target?.state.Type === 'Fail')
      );
    }),
  );
  return {
    ...(finalTask !== undefined ? { finalTask } : {}),
    ...(finalBegin !== undefined ? { finalBegin } : {}),
    finishRun: RUN_STATES.finishRun,
    result: RUN_STATES.result,
    outcomes,
  };
}
