// Starting a pipeline run, the same way from the webhook Lambda, the API and the local server:
// parse the file, choose the pipeline, compile it with the repository's stop settings, record the
// run, and hand it to the engine (Step Functions, or the embedded one).

import type { Plan } from '../statemachine/compiler/plan';
import type { Diagnostic, PipelineFile, Selection } from '../statemachine/language/index';
import type { PipelineCompiler } from '../statemachine/pipelines';
import type { RunRecord, TriggerRecord } from '../store/records';
import type { Caller } from '../vocabulary/contract';
import { FinaleError } from '../vocabulary/errors';
import type { CoreDeps } from './deps';
import { createRun } from './runs';
import { getSettings } from './settings';

/** The pipeline file is invalid or cannot be compiled: nothing was started (CLI exit 2, HTTP 422). */
export class InvalidPipelineError extends FinaleError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(message: string, diagnostics: readonly Diagnostic[]) {
    super(message, { name: 'InvalidPipeline', exitCode: 2 });
    this.diagnostics = diagnostics;
  }
}

/** The trigger selects no pipeline, or its variables are wrong: nothing was started. */
export class NoPipelineError extends FinaleError {
  readonly errors: readonly string[];

  constructor(reason: string, errors: readonly string[] = []) {
    super(`no pipeline runs: ${reason}${errors.length ? `\n  ${errors.join('\n  ')}` : ''}`, {
      name: 'NoPipeline',
      exitCode: 2,
    });
    this.errors = errors;
  }
}

/** Where a run executes: Step Functions on AWS, the embedded engine locally. */
export interface Executor {
  /** Starts the execution; resolves once it is running (not when it ends). */
  start(run: RunRecord, plan: Plan): Promise<void>;
}

export interface StartPipelineRequest {
  readonly repository: string;
  /** The pipeline file's text at the commit the run builds, and its path for diagnostics. */
  readonly source: { readonly text: string; readonly path: string };
  readonly trigger: TriggerRecord;
  /** Picks the pipeline from the parsed file (a trigger's selection, or a key given by the user). */
  readonly choose: (file: PipelineFile) => Selection;
  readonly caller: Caller;
  /** Files the trigger changed, for changeset conditions; unknown when absent. */
  readonly changedFiles?: readonly string[];
  readonly engine?: RunRecord['engine'];
  /** See CreateRunRequest.runId. */
  readonly runId?: string;
}

export interface StartedRun {
  readonly run: RunRecord;
  readonly plan: Plan;
  readonly reason: string;
  readonly warnings: readonly Diagnostic[];
}

export async function startPipeline(
  request: StartPipelineRequest,
  deps: Pick<CoreDeps, 'store' | 'clock'> & {
    readonly executor: Executor;
    readonly pipelines: PipelineCompiler;
  },
): Promise<StartedRun> {
  const { pipelines } = deps;
  const read = pipelines.parse(request.source.text, request.source.path);
  if (!read.ok) {
    const errors = read.diagnostics.filter((d) => d.severity === 'error');
    throw new InvalidPipelineError(
      `${request.source.path} is not valid (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${errors.map(pipelines.formatDiagnostic).join('\n')}`,
      read.diagnostics,
    );
  }
  // Deployment variables may be set for any environment the file names, run or not.
  await deps.store.variables.addEnvironments(request.repository, pipelines.deploymentEnvironments(read.file));
  const selection = request.choose(read.file);
  if (!selection.pipeline) throw new NoPipelineError(selection.reason, selection.errors ?? []);

  const settings = await getSettings(request.repository, deps);
  const compiled = pipelines.compile({
    file: read.file,
    pipeline: selection.pipeline,
    stop: {
      graceful: settings.gracefulStop,
      signal: settings.stopSignal,
      graceSeconds: settings.stopTimeout,
    },
    ...(request.changedFiles ? { changedFiles: request.changedFiles } : {}),
  });
  if (!compiled.ok) throw new InvalidPipelineError(compiled.message, []);
  const { plan } = compiled;

  const run = await createRun(
    {
      plan,
      repository: request.repository,
      trigger: request.trigger,
      startedBy: request.caller.user,
      variables: selection.variables,
      ...(request.engine ? { engine: request.engine } : {}),
      ...(request.runId ? { runId: request.runId } : {}),
    },
    deps,
  );
  try {
    await deps.executor.start(run, plan);
  } catch (error) {
    // Nothing ran and nothing is held: the run ends at once so it does not look pending forever.
    try {
      await deps.store.runs.finish(run.runId, {
        status: 'ERROR',
        reason: 'internal',
        endedAt: deps.clock.now(),
        expectedVersion: run.version,
      });
    } catch (ending) {
      throw new AggregateError(
        [error, ending],
        `run #${run.buildNumber} could not be started, nor ended: it stays PENDING (${(error as Error).message}; ${(ending as Error).message})`,
      );
    }
    throw error;
  }
  return {
    run,
    plan,
    reason: selection.reason,
    warnings: read.diagnostics.filter((d) => d.severity === 'warning'),
  };
}
