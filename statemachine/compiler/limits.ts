// Step Functions' hard limits, checked at compile time so a pipeline fails here with a clear message
// rather than at CreateStateMachine or, worse, halfway through an execution.

import { FinaleError } from '../../vocabulary/errors';
import { MAX_STATE_NAME } from './names';
import { type AslDefinition, type AslState, type PlanStats, RESOURCES, type StepSpec } from './plan';

export const LIMITS = {
  definitionBytes: 1024 * 1024,
  stateNameLength: MAX_STATE_NAME,
  steps: 100,
  historyEvents: 25_000,
} as const;

export class CompileError extends FinaleError {
  readonly problems: readonly string[];

  constructor(pipeline: string, problems: readonly string[]) {
    super(`cannot compile pipeline ${pipeline}:\n  ${problems.join('\n  ')}`, { name: 'CompileError' });
    this.problems = problems;
  }
}

// History events per state, as Step Functions records them (entered, scheduled, started, submitted,
// succeeded/failed, exited), and per retry attempt (failed/timed out, scheduled, started, submitted).
const EVENTS_PER_RETRY = 4;
function baseEvents(state: AslState): number {
  switch (state.Type) {
    case 'Task':
      return state.Resource === RESOURCES.control ? 5 : 6;
    case 'Parallel':
      return 4;
    default:
      return 2;
  }
}

function retryEvents(state: AslState): number {
  const retry = (state.Retry as { MaxAttempts?: number }[] | undefined) ?? [];
  return retry.reduce((sum, retrier) => sum + (retrier.MaxAttempts ?? 3) * EVENTS_PER_RETRY, 0);
}

function* allStates(states: Record<string, AslState>): Generator<[string, AslState]> {
  for (const entry of Object.entries(states)) {
    yield entry;
    const branches = entry[1].Branches as AslDefinition[] | undefined;
    for (const branch of branches ?? []) yield* allStates(branch.States);
  }
}

/** States entered by a successful run: Choices take their default, except the result, which succeeds. */
function happyPath(definition: Pick<AslDefinition, 'StartAt' | 'States'>): string[] {
  const path: string[] = [];
  let name: string | undefined = definition.StartAt;
  while (name) {
    const state: AslState = definition.States[name]!;
    path.push(name);
    if (state.Type === 'Parallel') {
      for (const branch of state.Branches as AslDefinition[]) path.push(...happyPath(branch));
    }
    if (state.Type === 'Choice') {
      const choices = state.Choices as { Next: string }[];
      const success = choices.find((choice) => definition.States[choice.Next]?.Type === 'Succeed');
      name = success?.Next ?? (state.Default as string);
    } else {
      name = state.Next as string | undefined;
    }
  }
  return path;
}

/** Fixed per-run states on the success path (Start, Start run, Finalize, Finish run, result, succeeded). */
const RUN_OVERHEAD_TRANSITIONS = 6;

export function checkLimits(
  pipeline: string,
  definition: AslDefinition,
  steps: readonly StepSpec[],
  /** How many times a state can run on the worst path (on-fail retry loops). */
  repeats: ReadonlyMap<string, number>,
): PlanStats {
  const problems: string[] = [];
  const states = [...allStates(definition.States)];
  const definitionBytes = Buffer.byteLength(JSON.stringify(definition));
  const longestStateName = Math.max(...states.map(([name]) => Array.from(name).length));
  const live = steps.filter((step) => !step.skipped).length;

  if (steps.length > LIMITS.steps) {
    problems.push(`it has ${steps.length} steps; the limit is ${LIMITS.steps} (parallel steps count)`);
  }
  if (definitionBytes > LIMITS.definitionBytes) {
    problems.push(
      `its state machine definition is ${definitionBytes} bytes; Step Functions allows ${LIMITS.definitionBytes}`,
    );
  }
  for (const [name] of states) {
    if (Array.from(name).length > LIMITS.stateNameLength) {
      problems.push(`state name "${name}" is longer than ${LIMITS.stateNameLength} characters`);
    }
  }
  const worstCaseHistoryEvents =
    2 +
    states.reduce(
      (sum, [name, state]) => sum + (baseEvents(state) + retryEvents(state)) * (repeats.get(name) ?? 1),
      0,
    );
  if (worstCaseHistoryEvents > LIMITS.historyEvents) {
    problems.push(
      `its worst case could record ${worstCaseHistoryEvents} execution history events; Step Functions fails an execution past ${LIMITS.historyEvents} (reduce on-fail retries or steps)`,
    );
  }
  if (problems.length) throw new CompileError(pipeline, problems);

  const happyPathTransitions = happyPath(definition).length;
  return {
    states: states.length,
    definitionBytes,
    longestStateName,
    happyPathTransitions,
    transitionsPerStep: live
      ? Number(((happyPathTransitions - RUN_OVERHEAD_TRANSITIONS) / live).toFixed(2))
      : 0,
    worstCaseHistoryEvents,
  };
}
