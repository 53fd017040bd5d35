// `prepare`: the non-essential first container of a step task. It fills the two shared volumes — the
// clone with earlier steps' artifacts in /workspace; script files, env file, start.sh and
// supervisor.sh in /finale — and opens them to the step's user, whatever uid its image runs as.
// When anything fails it leaves prepare.error behind, which the agent reports as the step's error.
//
// The env file holds the step's variables but its secured ones, which ECS sets in the step container
// from SSM (aws/task-definitions.ts): the plain repository and deployment variables, then the custom,
// output and default variables above them, secured output variables of earlier steps unsealed (the
// file is on the task's own volume, and the agent masks them).

import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { SecretVault } from '../core/ports';
import { runOutputs, storedVariablesFor } from '../core/repository-variables';
import { bitbucketVariables } from '../core/variables';
import type { RepositoryHost } from '../repository-hosts/host';
import type { StepSpec } from '../statemachine/compiler/plan';
import type { RunRecord } from '../store/records';
import type { Store } from '../store/store';
import { renderStep } from '../supervisor/render';
import { type ArtifactStore, artifactKey } from './artifacts';
import { fargateSupervisorEnvironment, renderEnvFile, renderStartScript } from './env-file';
import { cloneCommit } from './git';
import type { AgentPaths } from './paths';
import { earlierSteps, loadStep, repositoryIdentity, type TaskIdentity } from './task';

const run = promisify(execFile);

interface PrepareDeps {
  readonly task: TaskIdentity;
  readonly paths: AgentPaths;
  readonly store: Store;
  /** Opens the run's secured output variables (KMS, with the task role). */
  readonly vault: SecretVault;
  readonly host: () => Promise<Pick<RepositoryHost, 'cloneAccess'>>;
  readonly artifacts: ArtifactStore;
  readonly supervisorText: string;
  readonly log: (line: string) => void;
}

/** Every variable of the step but its secured ones, lowest precedence first. */
async function stepVariables(
  run: RunRecord,
  spec: StepSpec,
  paths: AgentPaths,
  deps: Pick<PrepareDeps, 'store' | 'vault'>,
): Promise<Record<string, string>> {
  const [stored, outputs] = await Promise.all([storedVariablesFor(run, spec, deps), runOutputs(run, deps)]);
  return {
    ...stored.plain,
    ...bitbucketVariables({
      run: {
        ...run,
        outputs: {
          ...outputs.plain,
          ...Object.fromEntries(outputs.secured.map(({ name, value }) => [name, value])),
        },
      },
      spec,
      repository: repositoryIdentity(run.repository),
      cloneDir: paths.workspace,
    }),
  };
}

export async function prepare(deps: PrepareDeps): Promise<void> {
  const { paths, log } = deps;
  try {
    await mkdir(paths.dir, { recursive: true });
    await mkdir(paths.workspace, { recursive: true });
    const { plan, spec, run: record } = await loadStep(deps.task, deps.store);
    log(
      `finale: preparing step ${spec.index} "${spec.name}" of run #${record.buildNumber} (${record.repository})`,
    );

    if (spec.clone.enabled) {
      const { trigger } = record;
      const branch = trigger.kind === 'branch' ? trigger.ref : trigger.branch;
      await cloneCommit({
        access: (await deps.host()).cloneAccess(record.repository),
        commit: trigger.commit,
        dir: paths.workspace,
        ...(spec.clone.depth !== undefined ? { depth: spec.clone.depth } : {}),
        lfs: spec.clone.lfs,
        ...(branch ? { branch } : {}),
        log,
      });
    }
    if (spec.artifacts.download !== false) {
      for (const earlier of earlierSteps(plan.steps, spec)) {
        if (await deps.artifacts.download(artifactKey(record.runId, earlier.index), paths.workspace))
          log(`finale: artifacts of "${earlier.name}" downloaded`);
      }
    }

    const rendered = renderStep(spec);
    await writeFile(paths.script, rendered.script);
    if (rendered.afterScript !== null) await writeFile(paths.afterScript, rendered.afterScript);
    await writeFile(paths.supervisor, deps.supervisorText, { mode: 0o755 });
    await writeFile(paths.start, renderStartScript(paths), { mode: 0o755 });
    // There before the step starts, so the agent follows it from the first byte.
    await writeFile(paths.output, '');
    await writeFile(
      paths.env,
      renderEnvFile({
        ...(await stepVariables(record, spec, paths, deps)),
        ...fargateSupervisorEnvironment(spec, paths, rendered.afterScript !== null),
      }),
    );
    // The step's image may run as any user: both volumes are open to it.
    await run('chmod', ['-R', 'a+rwX', paths.workspace, paths.dir]);
    log('finale: step prepared');
  } catch (error) {
    const message = (error as Error).message;
    log(`finale: the step could not be prepared: ${message}`);
    // The step container shows this file's message; if it cannot be written, the task's log says so.
    try {
      await mkdir(paths.dir, { recursive: true });
      await writeFile(paths.prepareError, `${message}\n`);
      await chmod(paths.dir, 0o777);
    } catch (writing) {
      log(`finale: the reason could not be handed to the step: ${(writing as Error).message}`);
    }
    throw error;
  }
}
