// Which errors each state can raise, and which Catcher (if any) takes each of them.
//
// The model, from https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html:
// - A Task can fail with any error: Lambda functions and ECS tasks fail with names of their own. It
//   also raises States.Timeout when it has a timeout, States.HeartbeatTimeout when it has a heartbeat.
// - "A retry or catch on States.ALL won't catch States.Runtime errors", and a States.Runtime error
//   "will always cause the execution to fail": no Catch takes it. A state raises it when a JSONPath it
//   reads is missing (paths.ts finds those).
// - A Choice without a Default raises States.NoChoiceMatched when no rule matches; a Choice has no
//   Catch, so nothing takes it.
// - Retry does not change where an error finally goes: after the retries it reaches the Catch.
// - A Parallel can fail on its own (States.BranchFailed and the like), not only through its branches.

import type { AslState } from '../compiler/plan';
import { type Catcher, catchersOf } from './graph';

/** An error that no name in an ErrorEquals spells: what "fails with any error" leaves over. */
export const ANY_ERROR = 'any error';

export const RUNTIME = 'States.Runtime';
const NO_CHOICE_MATCHED = 'States.NoChoiceMatched';
const ALL = 'States.ALL';
const TASK_FAILED = 'States.TaskFailed';
const TIMEOUT = 'States.Timeout';
const HEARTBEAT_TIMEOUT = 'States.HeartbeatTimeout';

/** Errors that end the execution wherever they are raised. */
const UNCATCHABLE: ReadonlySet<string> = new Set([RUNTIME, NO_CHOICE_MATCHED]);

export interface RaisedError {
  /** The error name, or ANY_ERROR. */
  readonly name: string;
  /** Why the state can raise it, for the counterexample. */
  readonly reason: string;
}

export const isCatchable = (error: RaisedError): boolean => !UNCATCHABLE.has(error.name);

/** Whether one ErrorEquals name matches the error. */
function nameMatches(pattern: string, error: string): boolean {
  if (UNCATCHABLE.has(error)) return false;
  if (pattern === ALL) return true;
  // States.TaskFailed matches any error except States.Timeout; whether it takes a heartbeat timeout
  // is not documented plainly, so the prover assumes it does not (a missed catch, never a false one).
  if (pattern === TASK_FAILED) return error !== TIMEOUT && error !== HEARTBEAT_TIMEOUT;
  return pattern === error;
}

/** The index of the first Catcher that takes the error (Step Functions tries them in order). */
export function catcherFor(catchers: readonly Catcher[], error: string): number | undefined {
  const index = catchers.findIndex((c) => c.errorEquals.some((pattern) => nameMatches(pattern, error)));
  return index < 0 ? undefined : index;
}

/** Names spelled in Catchers: a Task that fails with any error can fail with each of these. */
function spelledNames(catchers: readonly Catcher[]): string[] {
  return catchers
    .flatMap((c) => c.errorEquals)
    .filter((name) => name !== ALL && name !== TASK_FAILED && !UNCATCHABLE.has(name))
    .filter((name) => name !== TIMEOUT && name !== HEARTBEAT_TIMEOUT);
}

const hasSeconds = (state: AslState, field: 'TimeoutSeconds' | 'HeartbeatSeconds') =>
  state[field] !== undefined || state[`${field}Path`] !== undefined;

/**
 * The errors a state can raise. `missing`: the JSONPaths it reads that may be missing (States.Runtime);
 * `enclosing`: the Catchers of the Parallel states around it, whose names its errors may reach.
 */
export function raisedBy(
  state: AslState,
  missing: readonly string[],
  enclosing: readonly Catcher[],
): readonly RaisedError[] {
  const raised: RaisedError[] = [];
  if (missing.length > 0)
    raised.push({ name: RUNTIME, reason: `it reads ${missing.join(', ')}, which may be missing` });
  const arbitrary = (why: string) => {
    raised.push({ name: ANY_ERROR, reason: why });
    const names = new Set(spelledNames([...catchersOf(state), ...enclosing]));
    for (const name of names) raised.push({ name, reason: why });
  };
  switch (state.Type) {
    case 'Task':
      arbitrary('a task can fail with any error');
      if (hasSeconds(state, 'TimeoutSeconds'))
        raised.push({ name: TIMEOUT, reason: 'it has TimeoutSeconds' });
      if (hasSeconds(state, 'HeartbeatSeconds'))
        raised.push({ name: HEARTBEAT_TIMEOUT, reason: 'it has HeartbeatSeconds' });
      break;
    case 'Parallel':
      arbitrary('a Parallel state can fail on its own');
      break;
    case 'Map':
      arbitrary('a Map state fails when an iteration fails, with any error');
      break;
    case 'Choice':
      if (state.Default === undefined)
        raised.push({ name: NO_CHOICE_MATCHED, reason: 'it has no Default and its rules may all be false' });
      break;
    case 'Fail': {
      const error = typeof state.Error === 'string' ? state.Error : ANY_ERROR;
      raised.push({ name: error, reason: 'it is a Fail state' });
      break;
    }
  }
  return raised;
}

/** The Catchers of a state, or none for the types that cannot have one. */
export function catchersIn(state: AslState): readonly Catcher[] {
  return state.Type === 'Task' || state.Type === 'Parallel' || state.Type === 'Map' ? catchersOf(state) : [];
}

/** The label of a Catch edge: its ErrorEquals as written. */
export const catcherLabel = (catcher: Catcher): string => catcher.errorEquals.join(', ');
