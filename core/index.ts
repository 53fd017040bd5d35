// The core's public surface, and `createCore`, which binds the functions to one set of deps for
// the adapters (control Lambda, API, local server).

import type { ControlRequest } from '../vocabulary/contract';
import { approveRun, refuseRun } from './approve';
import { dispatchControl } from './control';
import type { CoreDeps } from './deps';
import { forceUnlock, listLocks } from './locks';
import { claimOrphan, findOrphans, markAborted, renewEngineLeases } from './orphans';
import { createRun } from './runs';
import { getSettings, setSetting } from './settings';
import { stopRun } from './stop';
import { taskEnded, taskStarted } from './task-hooks';

export { type ApprovalRequest, type ApprovalResult, approveRun, refuseRun } from './approve';
export { dispatchControl } from './control';
export { type CoreDeps, createPlanSource, type PlanSource } from './deps';
export * from './failures';
export {
  acquireLock,
  forceUnlock,
  type HandoverResult,
  type LockRequest,
  type LockView,
  leaveLockQueue,
  listLocks,
  releaseLock,
} from './locks';
export { claimOrphan, type EngineLease, findOrphans, markAborted, renewEngineLeases } from './orphans';
export {
  decideRunOutcome,
  decideStepOutcome,
  decideTerminal,
  failErrorOf,
  type RunOutcome,
  type StepDecision,
} from './outcome';
export { adminsText, checkSettingsChange, decideStop, isAdmin, type StopDecision } from './policy';
export { retryOnConflict } from './retry';
export { type CreateRunRequest, createRun, requireRun } from './runs';
export {
  getSettings,
  SETTING_KEYS,
  SETTINGS,
  type SetSettingRequest,
  type SettingKey,
  setSetting,
  settingsView,
} from './settings';
export { type StopRequest, type StopResult, stopRun } from './stop';
export { type TaskEnd, taskEnded, taskStarted } from './task-hooks';

type Bound<F> = F extends (...args: [...infer A, infer _D]) => infer R ? (...args: A) => R : never;

/** The core functions with their deps bound. */
export function createCore(deps: CoreDeps) {
  const bind =
    <A extends unknown[], R>(fn: (...args: [...A, CoreDeps]) => R) =>
    (...args: A): R =>
      fn(...args, deps);
  return {
    deps,
    control: <R extends ControlRequest>(request: R) => dispatchControl(request, deps),
    createRun: bind(createRun) as Bound<typeof createRun>,
    stop: bind(stopRun),
    approve: bind(approveRun),
    refuse: bind(refuseRun),
    getSettings: bind(getSettings) as Bound<typeof getSettings>,
    setSetting: bind(setSetting) as Bound<typeof setSetting>,
    listLocks: bind(listLocks),
    forceUnlock: bind(forceUnlock),
    taskStarted: bind(taskStarted) as Bound<typeof taskStarted>,
    taskEnded: bind(taskEnded) as Bound<typeof taskEnded>,
    renewEngineLeases: bind(renewEngineLeases) as Bound<typeof renewEngineLeases>,
    findOrphans: bind(findOrphans) as Bound<typeof findOrphans>,
    claimOrphan: bind(claimOrphan) as Bound<typeof claimOrphan>,
    markAborted: bind(markAborted) as Bound<typeof markAborted>,
  };
}

export type Core = ReturnType<typeof createCore>;
