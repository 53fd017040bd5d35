// The bodies the API answers with, typed once: the routes build them here and the CLI's client
// reads their types from here, so a field added to a response reaches `finale` without a copy.

import type { Core } from '../core/index';
import type { LogChunk, RunStarter } from '../core/ports';
import type { RunRecord } from '../store/records';

type Answer<K extends keyof Core> = Awaited<ReturnType<Core[K]>>;

/** What every answer shows of a sealed output variable: that it exists, not even its ciphertext. */
export const SECURED_SHOWN = '(secured)';

/** A run as the API shows it: a secured output variable by name only. */
export function runView(run: RunRecord): RunRecord {
  if (!run.securedOutputs || Object.keys(run.securedOutputs).length === 0) return run;
  return {
    ...run,
    securedOutputs: Object.fromEntries(Object.keys(run.securedOutputs).map((name) => [name, SECURED_SHOWN])),
  };
}

/** What POST /runs answers: the run, why it was chosen, and the steps it will run. */
export function startedRunView(started: Awaited<ReturnType<RunStarter['start']>>) {
  return {
    run: runView(started.run),
    reason: started.reason,
    warnings: started.warnings,
    /** What the engine says about how it runs the steps (e.g. that it cannot contain them). */
    notices: started.notices ?? [],
    steps: started.plan.steps.map(({ index, name, kind, stateName, group, deployment, trigger }) => ({
      index,
      name,
      kind,
      stateName,
      trigger,
      ...(group ? { group: group.name } : {}),
      ...(deployment ? { deployment } : {}),
    })),
    stats: started.plan.stats,
  };
}

/** Each route's answer, by what the CLI calls it. */
export interface Views {
  readonly started: ReturnType<typeof startedRunView>;
  readonly run: { readonly run: RunRecord };
  readonly runs: Answer<'listRuns'>;
  readonly log: LogChunk;
  readonly stop: Answer<'stop'>;
  readonly approve: Answer<'approve'>;
  readonly locks: { readonly locks: Answer<'listLocks'> };
  readonly unlock: Answer<'forceUnlock'>;
  readonly settings: { readonly settings: Record<string, string> };
  readonly variables: { readonly variables: Answer<'listVariables'> };
  readonly variable: { readonly variable: Answer<'setVariable'> };
  readonly environments: { readonly environments: Answer<'listEnvironments'> };
}
