// How the embedded engine starts a run: the pipeline file of the repository, the working tree as
// it stands checked out as the run's commit (before the run exists, so that an engine that dies as
// the run is created leaves its adopter a checkout for the final step), the changes since the
// branch's upstream, then core.startPipeline hands the run to this engine's executions.

import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { Core } from '../core/index';
import type { RunStarter, StartRunRequest } from '../core/ports';
import { pickPipeline } from '../statemachine/language/pick';
import { UsageError } from '../vocabulary/errors';
import { changedSinceUpstream } from './changes';
import type { Executions } from './executions';
import type { FinalePaths } from './paths';
import type { LocalTaskRunner } from './task-runner';
import { type Snapshot, snapshotWorkingTree } from './workspace';

export interface LocalRunStarterDeps {
  readonly paths: FinalePaths;
  readonly repository: string;
  readonly engine: { readonly instance: string; readonly leaseSeconds: number };
  readonly core: Core;
  readonly tasks: Pick<LocalTaskRunner, 'setEnvironment' | 'noticesFor'>;
  readonly executions: Pick<Executions, 'start'>;
  /** The run's commit, instead of a git snapshot of the working tree (tests, the simulation). */
  readonly snapshot?: (root: string, into: string) => Promise<Snapshot>;
}

export function localRunStarter(deps: LocalRunStarterDeps): RunStarter {
  const { paths, engine, core, tasks, executions } = deps;
  return {
    async start(request: StartRunRequest) {
      const file = resolve(paths.root, request.file);
      if (relative(paths.root, file).startsWith('..')) {
        throw new UsageError(`${request.file} is outside the repository ${paths.root}`);
      }
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(
          `cannot read ${request.file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`,
        );
      });
      const runId = randomUUID();
      const runPaths = paths.run(runId);
      await mkdir(runPaths.dir, { recursive: true });
      const snapshot = await (deps.snapshot ?? snapshotWorkingTree)(paths.root, runPaths.source);
      const branch = request.branch ?? snapshot.branch;
      const custom = request.pipeline?.startsWith('custom:');
      // A commit given by a seam has no history to compare: its changes are unknown (every step runs).
      const changedFiles = deps.snapshot
        ? undefined
        : await changedSinceUpstream(paths.root, snapshot.commit, snapshot.branch);
      let created = false;
      try {
        const started = await core.startPipeline(
          {
            runId,
            repository: deps.repository,
            source: { text, path: request.file },
            trigger: {
              kind: custom ? 'custom' : 'branch',
              ref: custom ? request.pipeline!.slice('custom:'.length) : (branch ?? 'HEAD'),
              commit: snapshot.commit,
              ...(branch ? { branch } : {}),
            },
            choose: (parsed) =>
              pickPipeline(parsed, {
                ...(request.pipeline ? { key: request.pipeline } : {}),
                ...(branch ? { branch } : {}),
                variables: request.variables,
              }),
            caller: request.caller,
            ...(changedFiles ? { changedFiles } : {}),
            engine: { instance: engine.instance, leaseUntil: Date.now() + engine.leaseSeconds * 1000 },
          },
          {
            async start(run, plan) {
              created = true;
              if (request.environment) tasks.setEnvironment(run.runId, request.environment);
              executions.start(run, plan);
            },
          },
        );
        return { ...started, notices: tasks.noticesFor(request.environment) };
      } finally {
        // A refused start (a pipeline that does not validate, say) leaves nothing behind.
        if (!created && !(await core.getRun(runId))) await rm(runPaths.dir, { recursive: true, force: true });
      }
    },
  };
}
