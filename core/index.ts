// The core's public surface, and `createCore`, which binds the functions to one set of deps for
// the adapters (control Lambda, API, local server).

import type { ControlRequest } from '../vocabulary/contract';
import { FinaleError } from '../vocabulary/errors';
import { approveRun, refuseRun } from './approve';
import { dispatchControl } from './control';
import { forgetDelivery, markDeliverySeen } from './deliveries';
import type { CoreDeps } from './deps';
import { forceUnlock, listLocks } from './locks';
import {
  claimOrphan,
  findOrphans,
  markAborted,
  releaseEngineLease,
  renewEngineLease,
  renewEngineLeases,
} from './orphans';
import { addRunNote, getPlan, getRun, getRunByBuildNumber, listRuns, listUnfinishedRuns } from './reads';
import {
  listEnvironments,
  listVariables,
  recordEnvironments,
  runOutputs,
  setVariable,
  storedVariablesFor,
  unsetVariable,
} from './repository-variables';
import { createRun } from './runs';
import { getSettings, setSetting } from './settings';
import { type Executor, type StartPipelineRequest, startPipeline } from './start';
import { stopRun } from './stop';
import { taskEnded, taskStarted } from './task-hooks';

export { createPlanSource } from './deps';

type Bound<F> = F extends (...args: [...infer A, infer _D]) => infer R ? (...args: A) => R : never;

/**
 * The core functions with their deps bound: the one door of the adapters (the Lambdas, the API,
 * the local server), which never hold the store themselves.
 */
export function createCore(deps: CoreDeps) {
  const bind =
    <A extends unknown[], R>(fn: (...args: [...A, CoreDeps]) => R) =>
    (...args: A): R =>
      fn(...args, deps);
  return {
    /** Parses, selects, compiles and records a run, then hands it to the engine's executor. */
    startPipeline: (request: StartPipelineRequest, executor: Executor) => {
      const { pipelines } = deps;
      if (!pipelines)
        throw new FinaleError('this adapter was built without the pipeline compiler: it cannot start runs');
      return startPipeline(request, { ...deps, executor, pipelines });
    },
    getRun: bind(getRun) as Bound<typeof getRun>,
    getRunByBuildNumber: bind(getRunByBuildNumber) as Bound<typeof getRunByBuildNumber>,
    listRuns: bind(listRuns) as Bound<typeof listRuns>,
    listUnfinishedRuns: bind(listUnfinishedRuns) as Bound<typeof listUnfinishedRuns>,
    getPlan: bind(getPlan) as Bound<typeof getPlan>,
    addRunNote: bind(addRunNote) as Bound<typeof addRunNote>,
    markDeliverySeen: bind(markDeliverySeen) as Bound<typeof markDeliverySeen>,
    forgetDelivery: bind(forgetDelivery) as Bound<typeof forgetDelivery>,
    renewEngineLease: bind(renewEngineLease) as Bound<typeof renewEngineLease>,
    releaseEngineLease: bind(releaseEngineLease) as Bound<typeof releaseEngineLease>,
    control: <R extends ControlRequest>(request: R) => dispatchControl(request, deps),
    createRun: bind(createRun) as Bound<typeof createRun>,
    stop: bind(stopRun),
    approve: bind(approveRun),
    refuse: bind(refuseRun),
    getSettings: bind(getSettings) as Bound<typeof getSettings>,
    setSetting: bind(setSetting) as Bound<typeof setSetting>,
    listVariables: bind(listVariables) as Bound<typeof listVariables>,
    setVariable: bind(setVariable) as Bound<typeof setVariable>,
    unsetVariable: bind(unsetVariable) as Bound<typeof unsetVariable>,
    listEnvironments: bind(listEnvironments) as Bound<typeof listEnvironments>,
    recordEnvironments: bind(recordEnvironments) as Bound<typeof recordEnvironments>,
    storedVariablesFor: bind(storedVariablesFor) as Bound<typeof storedVariablesFor>,
    runOutputs: bind(runOutputs) as Bound<typeof runOutputs>,
    /** A secured variable's value, for an engine that starts steps itself (on AWS ECS reads them). */
    reveal: (reference: string) => deps.vault.reveal(reference),
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
