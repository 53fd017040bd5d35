// What the adapters read through the core: runs (by id, by build number, a repository's pages, the
// unfinished ones), plans by hash, and the notes a run is given.

import type { Plan } from '../statemachine/compiler/plan';
import type { RunRecord } from '../store/records';
import type { Page } from '../store/runs';
import type { CoreDeps } from './deps';

export function getRun(runId: string, deps: Pick<CoreDeps, 'store'>): Promise<RunRecord | undefined> {
  return deps.store.runs.get(runId);
}

export function getRunByBuildNumber(
  repository: string,
  buildNumber: number,
  deps: Pick<CoreDeps, 'store'>,
): Promise<RunRecord | undefined> {
  return deps.store.runs.getByBuildNumber(repository, buildNumber);
}

export function listRuns(
  repository: string,
  page: { readonly limit?: number; readonly cursor?: string },
  deps: Pick<CoreDeps, 'store'>,
): Promise<Page<RunRecord>> {
  return deps.store.runs.list(repository, page);
}

export function listUnfinishedRuns(deps: Pick<CoreDeps, 'store'>): Promise<RunRecord[]> {
  return deps.store.runs.listUnfinished();
}

export function getPlan(planHash: string, deps: Pick<CoreDeps, 'plans'>): Promise<Plan> {
  return deps.plans.get(planHash);
}

/** A line in the run's notes, dated now (what happened to it outside its steps' logs). */
export function addRunNote(
  runId: string,
  text: string,
  deps: Pick<CoreDeps, 'store' | 'clock'>,
): Promise<RunRecord> {
  return deps.store.runs.addNote(runId, { at: deps.clock.now(), text });
}
