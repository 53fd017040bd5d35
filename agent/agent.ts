// `agent`: the only essential container of a step task. It waits for the supervisor (in the step
// container) to finish, reports the step's end to the core (exit code, output variables), uploads the
// artifacts, and exits with the supervisor's exit code, which becomes the task's result.
//
// ECS's StopTask sends SIGTERM to every container. The supervisor, PID 1 of the step container, gets
// its own and starts a graceful stop; the agent reads the run's stop record and writes the cancel file
// — `immediate` for an immediate stop, which the supervisor reads within a second, `stop` otherwise,
// which it also takes as a graceful request — so the stop holds whatever order ECS signals in. The
// containers share no PID namespace: the agent learns that the step container ended from ECS (metadata.ts).
//
// All along it writes the step's output to its own log with the secured values masked (output.ts),
// and reports which output variables hold one of them, so the core keeps those sealed.

import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { taskStopMode } from '../core/stop';
import type { TaskEnd } from '../core/task-hooks';
import { securedOutputNames } from '../core/variable-rules';
import type { Store } from '../store/store';
import {
  exitCodeOfStatus,
  parseOutputVariables,
  parseSupervisorStatus,
  SUPERVISOR_EXIT,
  SUPERVISOR_FILES,
  type SupervisorStatus,
} from '../supervisor/contract';
import type { SecuredValue } from '../supervisor/masking';
import { type ArtifactStore, artifactKey } from './artifacts';
import type { ContainerWatch } from './metadata';
import { followOutput } from './output';
import type { AgentPaths } from './paths';
import { loadStep, type TaskIdentity } from './task';

interface AgentDeps {
  readonly task: TaskIdentity;
  readonly paths: AgentPaths;
  readonly store: Pick<Store, 'plans' | 'runs'>;
  readonly taskEnded: (runId: string, step: number, end: TaskEnd) => Promise<unknown>;
  readonly artifacts: ArtifactStore;
  readonly log: (line: string) => void;
  /** Where the step's output goes, masked: the agent's stdout, its awslogs stream. */
  readonly output: Writable;
  /** The values to mask: the step's secured variables and the run's secured output variables. */
  readonly secured: () => Promise<readonly SecuredValue[]>;
  /** The step container's state (ECS's task metadata). */
  readonly stepContainer: ContainerWatch;
  /** @default 250 */
  readonly pollMs?: number;
  /** How long a stop may wait for a step that never started. @default 10_000 */
  readonly unstartedStopMs?: number;
}

interface AgentHandle {
  /** Settles with the exit code the agent should end with. */
  readonly done: Promise<number>;
  /** What SIGTERM does. */
  stop(): Promise<void>;
}

/** A file the supervisor writes, or undefined while it has not written it. */
const readText = (path: string) =>
  readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });

type Ending =
  | { readonly kind: 'status'; readonly status: SupervisorStatus }
  | { readonly kind: 'failed'; readonly why: string; readonly code: number };

export function runAgent(deps: AgentDeps): AgentHandle {
  const { paths, log } = deps;
  const pollMs = deps.pollMs ?? 250;
  let stopAt: number | undefined;

  const waitForEnd = async (): Promise<Ending> => {
    for (;;) {
      const status = parseSupervisorStatus(await readText(join(paths.dir, SUPERVISOR_FILES.status)));
      if (status) return { kind: 'status', status };
      const prepareError = await readText(paths.prepareError);
      if (prepareError !== undefined) {
        return {
          kind: 'failed',
          why: `the step could not be prepared: ${prepareError.trim()}`,
          code: SUPERVISOR_EXIT.error,
        };
      }
      const step = await deps.stepContainer().catch((error: Error) => {
        // Asked again at the next poll; the status file decides in the end.
        log(`finale: cannot read the step container's state: ${error.message}`);
        return undefined;
      });
      if (step?.state === 'stopped') {
        // It may have written its status just before exiting.
        const last = parseSupervisorStatus(await readText(join(paths.dir, SUPERVISOR_FILES.status)));
        if (last) return { kind: 'status', status: last };
        return {
          kind: 'failed',
          why: `the step container ended without a status (killed, or out of memory${step.exitCode === undefined ? '' : `; exit code ${step.exitCode}`})`,
          code: SUPERVISOR_EXIT.error,
        };
      }
      if (
        step?.state === 'starting' &&
        stopAt !== undefined &&
        Date.now() - stopAt > (deps.unstartedStopMs ?? 10_000)
      ) {
        return { kind: 'failed', why: 'stopped before the step started', code: SUPERVISOR_EXIT.stopped };
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };

  const secured = deps.secured();
  const output = followOutput({ path: paths.output, secured, sink: deps.output, log, pollMs });

  const done = (async () => {
    // Without the values to mask nothing of the step may be shown: that ends the agent at once.
    const ending = await Promise.race([waitForEnd(), output.failed]);
    await output.finish();
    if (ending.kind === 'failed') {
      log(`finale: ${ending.why}`);
      await deps
        .taskEnded(deps.task.runId, deps.task.step, {})
        .catch((error) => log(`finale: ${error.message}`));
      return ending.code;
    }
    const { status } = ending;
    const outputs = parseOutputVariables(
      (await readText(join(paths.dir, SUPERVISOR_FILES.outputVariables))) ?? '',
    );
    const values = (await secured).map((secret) => secret.value);
    await deps.taskEnded(deps.task.runId, deps.task.step, {
      exitCode: status.exitCode,
      outputs,
      secured: securedOutputNames(outputs, values),
    });
    const { spec } = await loadStep(deps.task, deps.store);
    const uploaded = await deps.artifacts.upload(
      artifactKey(deps.task.runId, deps.task.step),
      paths.workspace,
      spec.artifacts.paths,
    );
    if (uploaded > 0) log(`finale: ${uploaded} artifact file${uploaded === 1 ? '' : 's'} uploaded`);
    log(`finale: step ${status.outcome} (script exit code ${status.exitCode})`);
    return exitCodeOfStatus(status);
  })();

  return {
    done,
    async stop() {
      stopAt ??= Date.now();
      const run = await deps.store.runs.get(deps.task.runId).catch((error: Error) => {
        log(`finale: cannot read the run's stop record (${error.message}); stopping gracefully`);
        return undefined;
      });
      const immediate = taskStopMode(run) === 'immediate';
      const by = run?.stop ? ` by ${run.stop.by}` : '';
      log(
        immediate
          ? `finale: immediate stop requested${by}`
          : `finale: stop requested${by}: the step stops gracefully`,
      );
      // Written beside it and renamed: the supervisor polls for the file, and one it found empty (created,
      // not yet written) would read as a graceful stop where an immediate one was asked for.
      const written = `${paths.cancel}.writing`;
      await writeFile(written, immediate ? 'immediate\n' : 'stop\n')
        .then(() => rename(written, paths.cancel))
        .catch((error: Error) => log(`finale: cannot write the cancel file: ${error.message}`));
    },
  };
}
