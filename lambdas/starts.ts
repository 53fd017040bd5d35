// Starting a run from the Lambdas (a webhook's trigger, or the API's custom run): the pipeline file is
// read from the repository host at the run's commit, then core's startPipeline selects, compiles,
// records the run and hands it to the AWS executor; the host hears INPROGRESS.

import type { RepositoryHost } from '../aws/hosts/host';
import type { Clock } from '../core/contract';
import {
  type Executor,
  InvalidPipelineError,
  NoPipelineError,
  type StartedRun,
  startPipeline,
} from '../core/start';
import type { PipelineFile, Selection } from '../statemachine/language/model';
import type { TriggerRecord } from '../store/records';
import type { Store } from '../store/store';
import { reportStatus } from './status';

export const PIPELINE_FILE = 'bitbucket-pipelines.yml';

export interface StartDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly executor: Executor;
  readonly host: RepositoryHost;
  /** For the commit status link when the run has no execution (yet). */
  readonly region: string;
  /** Commit statuses are reported on a best-effort basis: a failure is logged, never fatal. */
  readonly warn: (message: string, error: unknown) => void;
}

export interface StartRequest {
  readonly repository: string;
  readonly trigger: TriggerRecord;
  readonly choose: (file: PipelineFile) => Selection;
  readonly user: string;
  /** @default PIPELINE_FILE */
  readonly file?: string;
}

/**
 * Starts the run, or throws: NoPipelineError (the trigger selects nothing), InvalidPipelineError (the
 * file is wrong; the commit gets a FAILED status saying so), a missing file as NoPipelineError.
 */
export async function startRun(request: StartRequest, deps: StartDeps): Promise<StartedRun> {
  const path = request.file ?? PIPELINE_FILE;
  const { repository, trigger } = request;
  const text = await deps.host.readFile(repository, trigger.commit, path);
  if (text === undefined) {
    throw new NoPipelineError(`${repository} has no ${path} at ${trigger.commit.slice(0, 12)}`);
  }
  let started: StartedRun;
  try {
    started = await startPipeline(
      {
        repository,
        source: { text, path },
        trigger,
        choose: request.choose,
        caller: { user: request.user },
      },
      deps,
    );
  } catch (error) {
    if (error instanceof InvalidPipelineError) {
      await reportStatus(
        deps,
        { repository, commit: trigger.commit, pipeline: path },
        'FAILED',
        `${path} is not valid: ${error.message.split('\n')[1]?.trim() ?? error.message}`,
      );
    }
    throw error;
  }
  const run = (await deps.store.runs.get(started.run.runId)) ?? started.run;
  await reportStatus(
    deps,
    { repository, commit: trigger.commit, pipeline: run.pipeline, run },
    'INPROGRESS',
    `#${run.buildNumber} running`,
  );
  return { ...started, run };
}
