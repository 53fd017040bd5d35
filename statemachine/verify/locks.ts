// How leaving a state changes the locks a run holds, read from its control request.

import type { AslState } from '../compiler/plan';
import { actionOf, payloadOf } from './graph';

const strings = (value: unknown): readonly string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

/** The held locks after leaving `state`; `success`: through its Next (or its branch's end). */
export function locksAfter(state: AslState, held: readonly string[], success: boolean): readonly string[] {
  const action = actionOf(state);
  const payload = payloadOf(state) ?? {};
  // finishRun releases whatever the run still holds. Its failure counts too: it retries hard, and a lock
  // it could not release is taken over when its lease expires (docs/architecture.md, Locks).
  if (action === 'finishRun') return [];
  if (action === 'acquireLock') {
    const key = typeof payload.lock === 'string' ? payload.lock : '(a lock whose key is not static)';
    // Taken on every way out: a wait that failed (timed out, stopped) may have been granted meanwhile.
    return held.includes(key) ? held : [...held, key].sort();
  }
  if (action === 'completeStep' && success) {
    const released = strings(payload.release);
    return held.filter((key) => !released.includes(key));
  }
  return held;
}
