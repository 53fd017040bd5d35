// What Finale's control function always returns, per action: the fields of `Payload` in a
// `lambda:invoke` result that a definition may read without risking States.Runtime.
//
// The table is checked against vocabulary/contract.ts ControlResults by its type: each entry may
// list only fields that every variant of that action's result has and that none has as optional.
// Listing fewer is safe (the prover then proves less); listing one that may be absent does not
// compile.

import type { ControlResults } from '../../vocabulary/contract';

type OptionalKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];
/** Keys present in every member of a union (keyof a union is its common keys) and never optional. */
type AlwaysPresent<T> = Exclude<keyof T, T extends unknown ? OptionalKeys<T> : never>;

type ResultFields = { readonly [A in keyof ControlResults]: readonly AlwaysPresent<ControlResults[A]>[] };

export const CONTROL_RESULT_FIELDS: ResultFields = {
  startRun: ['status'],
  beginStep: ['step', 'attempt'],
  completeStep: ['ok', 'status'],
  awaitApproval: ['state'],
  acquireLock: ['state'],
  enterFinal: ['status'],
  finishRun: ['status', 'error'],
};

export function controlResultFields(action: string | undefined): readonly string[] {
  if (action === undefined || !Object.hasOwn(CONTROL_RESULT_FIELDS, action)) return [];
  return CONTROL_RESULT_FIELDS[action as keyof ControlResults];
}
