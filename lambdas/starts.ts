// Starting a run from the Lambdas (a webhook's trigger, or the API's custom run): the pipeline file is
// read from the repository host at the run's commit, the files the trigger changed are listed when the
// file has changeset conditions, then core's startPipeline selects, compiles, records the run and
// hands it to the AWS executor; the host hears INPROGRESS.

import type { Core } from '../core/index';
import { type Executor, InvalidPipelineError, NoPipelineError, type StartedRun } from '../core/start';
import type { RepositoryHost } from '../repository-hosts/host';
import type { PipelineFile, Selection } from '../statemachine/language/model';
import type { TriggerRecord } from '../store/records';
import { reportStatus } from './status';

export const PIPELINE_FILE = 'bitbucket-pipelines.yml';

interface StartDeps {
  readonly core: Core;
  readonly executor: Executor;
  readonly host: RepositoryHost;
  /** For the commit status link when the run has no execution (yet). */
  readonly region: string;
  /**
   * Commit statuses are reported on a best-effort basis, and changed files listed likewise: a failure
   * is logged, never fatal.
   */
  readonly warn: (message: string, error: unknown) => void;
}

/**
 * Where the files a trigger changed come from, for `condition.changesets`: known already (a GitHub
 * push lists its head commit's files), or asked of the host, `RepositoryHost.changedFiles(head, base)`.
 */
export type ChangeSource =
  | { readonly files: readonly string[] }
  | { readonly head: string; readonly base?: string };

interface StartRequest {
  readonly repository: string;
  readonly trigger: TriggerRecord;
  readonly choose: (file: PipelineFile) => Selection;
  readonly user: string;
  /** @default PIPELINE_FILE */
  readonly file?: string;
  /** The file's text at the trigger's commit, when the caller has read it already. */
  readonly text?: string;
  /** @default `changeSourceOf(trigger)` */
  readonly changes?: ChangeSource;
}

/**
 * Bitbucket's rule: a pull request counts every commit it brings (its changes since the merge base
 * with the destination); any other trigger (branch, tag, bookmark, custom, manual) counts only the
 * commit it builds, against its first parent.
 */
function changeSourceOf(trigger: TriggerRecord): ChangeSource {
  return trigger.kind === 'pull-request' && trigger.destination
    ? { head: trigger.commit, base: trigger.destination }
    : { head: trigger.commit };
}

/** Quick and safe: a file that never says `changesets` has no changeset condition to evaluate. */
const MENTIONS_CHANGESETS = /\bchangesets\b/;

/**
 * The files the trigger changed, or undefined (every conditional step runs) when the file has no
 * changeset condition or the host cannot tell; the latter is logged with the reason.
 */
async function changedFilesOf(
  request: StartRequest,
  text: string,
  deps: Pick<StartDeps, 'host' | 'warn'>,
): Promise<readonly string[] | undefined> {
  if (!MENTIONS_CHANGESETS.test(text)) return undefined;
  const source = request.changes ?? changeSourceOf(request.trigger);
  if ('files' in source) return source.files;
  const change = source.base
    ? `${source.head.slice(0, 12)} since ${source.base}`
    : `commit ${source.head.slice(0, 12)}`;
  const unknown = `every step with a changeset condition runs (${request.repository}, ${request.trigger.kind} ${request.trigger.ref})`;
  try {
    const files = await deps.host.changedFiles(request.repository, source.head, source.base);
    if (files === undefined) {
      deps.warn(`${change} changed more files than the host lists in full: ${unknown}`, undefined);
    }
    return files;
  } catch (error) {
    deps.warn(`could not list the files changed by ${change}: ${unknown}`, error);
    return undefined;
  }
}

/**
 * Starts the run, or throws: NoPipelineError (the trigger selects nothing), InvalidPipelineError (the
 * file is wrong; the commit gets a FAILED status saying so), a missing file as NoPipelineError.
 */
export async function startRun(request: StartRequest, deps: StartDeps): Promise<StartedRun> {
  const path = request.file ?? PIPELINE_FILE;
  const { repository, trigger } = request;
  const text = request.text ?? (await deps.host.readFile(repository, trigger.commit, path));
  if (text === undefined) {
    throw new NoPipelineError(`${repository} has no ${path} at ${trigger.commit.slice(0, 12)}`);
  }
  const changedFiles = await changedFilesOf(request, text, deps);
  let started: StartedRun;
  try {
    started = await deps.core.startPipeline(
      {
        repository,
        source: { text, path },
        trigger,
        choose: request.choose,
        caller: { user: request.user },
        ...(changedFiles ? { changedFiles } : {}),
      },
      deps.executor,
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
  const run = (await deps.core.getRun(started.run.runId)) ?? started.run;
  await reportStatus(
    deps,
    { repository, commit: trigger.commit, pipeline: run.pipeline, run },
    'INPROGRESS',
    `#${run.buildNumber} running`,
  );
  return { ...started, run };
}
