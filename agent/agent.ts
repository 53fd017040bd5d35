// `agent`: the only essential container of a step task. It waits for the supervisor (in the step
// container) to finish, reports the step's end to the core (exit code, output variables), uploads the
// artifacts, and exits with the supervisor's exit code, which becomes the task's result.
//
// ECS's StopTask sends SIGTERM to every container. The supervisor gets its own and starts a graceful
// stop; the agent reads the run's stop record and, for an immediate stop, sends the supervisor
// SIGUSR1 (the task's containers share a PID namespace); otherwise it drops the cancel file, which the
// supervisor also treats as a graceful request, so the stop holds whatever order ECS signals in.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskEnd } from '../core/task-hooks';
import { isAlive } from '../local/processes';
import type { Store } from '../store/store';
import {
  exitCodeOfStatus,
  parseOutputVariables,
  parseSupervisorStatus,
  SUPERVISOR_EXIT,
  SUPERVISOR_FILES,
  type SupervisorStatus,
} from '../supervisor/contract';
import { type ArtifactStore, artifactKey } from './artifacts';
import type { AgentPaths } from './paths';
import { loadStep, type TaskIdentity } from './task';

export interface AgentDeps {
  readonly task: TaskIdentity;
  readonly paths: AgentPaths;
  readonly store: Pick<Store, 'plans' | 'runs'>;
  readonly taskEnded: (runId: string, step: number, end: TaskEnd) => Promise<unknown>;
  readonly artifacts: ArtifactStore;
  readonly log: (line: string) => void;
  /** @default 250 */
  readonly pollMs?: number;
  /** How long a stop may wait for a step that never started. @default 10_000 */
  readonly unstartedStopMs?: number;
}

export interface AgentHandle {
  /** Settles with the exit code the agent should end with. */
  readonly done: Promise<number>;
  /** What SIGTERM does. */
  stop(): Promise<void>;
}

const readText = (path: string) => readFile(path, 'utf8').catch(() => undefined);

async function supervisorPid(paths: AgentPaths): Promise<number | undefined> {
  const pid = Number((await readText(paths.supervisorPid))?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

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
      const pid = await supervisorPid(paths);
      if (pid !== undefined && !isAlive(pid)) {
        // It may have written its status just before exiting.
        const last = parseSupervisorStatus(await readText(join(paths.dir, SUPERVISOR_FILES.status)));
        if (last) return { kind: 'status', status: last };
        return {
          kind: 'failed',
          why: 'the step container ended without a status (killed, or out of memory)',
          code: SUPERVISOR_EXIT.error,
        };
      }
      if (
        pid === undefined &&
        stopAt !== undefined &&
        Date.now() - stopAt > (deps.unstartedStopMs ?? 10_000)
      ) {
        return { kind: 'failed', why: 'stopped before the step started', code: SUPERVISOR_EXIT.stopped };
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };

  const done = (async () => {
    const ending = await waitForEnd();
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
    await deps.taskEnded(deps.task.runId, deps.task.step, { exitCode: status.exitCode, outputs });
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
      const run = await deps.store.runs.get(deps.task.runId).catch(() => undefined);
      const immediate = run?.stop?.mode === 'immediate';
      const pid = await supervisorPid(paths);
      if (immediate && pid !== undefined) {
        log(`finale: immediate stop requested by ${run?.stop?.by ?? 'someone'}`);
        try {
          process.kill(pid, 'SIGUSR1');
        } catch {
          // Gone already: its status says how it ended.
        }
        return;
      }
      log(`finale: stop requested${run?.stop ? ` by ${run.stop.by}` : ''}: the step stops gracefully`);
      await writeFile(paths.cancel, 'stop\n').catch(() => undefined);
    },
  };
}
