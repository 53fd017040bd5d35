// Where the step task's shared volumes are, as every container of the task sees them.

import { join } from 'node:path';
import { TASK_PATHS } from '../aws/task-definitions';
import { SCRIPT_FILES } from '../supervisor/start';

export interface AgentPaths {
  /** The supervisor's directory: script files, env file, status, output variables. */
  readonly dir: string;
  /** The clone: BITBUCKET_CLONE_DIR. */
  readonly workspace: string;
  readonly script: string;
  readonly afterScript: string;
  readonly env: string;
  readonly start: string;
  readonly supervisor: string;
  /** Its appearance asks the supervisor for a stop: `immediate` in it, an immediate one; else graceful. */
  readonly cancel: string;
  /** Written by prepare when it could not prepare the step: the agent ends the task with it. */
  readonly prepareError: string;
  /** The step's output (the supervisor's stdout and stderr), which the agent masks into its log. */
  readonly output: string;
}

export function agentPaths(env: NodeJS.ProcessEnv = process.env): AgentPaths {
  const dir = env.FINALE_DIR || TASK_PATHS.finale;
  return {
    dir,
    workspace: env.FINALE_WORKSPACE || TASK_PATHS.workspace,
    script: join(dir, SCRIPT_FILES.script),
    afterScript: join(dir, SCRIPT_FILES.afterScript),
    env: join(dir, 'env'),
    start: join(dir, 'start.sh'),
    supervisor: join(dir, 'supervisor.sh'),
    cancel: join(dir, 'cancel'),
    prepareError: join(dir, 'prepare.error'),
    output: join(dir, 'output'),
  };
}
