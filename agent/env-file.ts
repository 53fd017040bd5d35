// The files that start the step in the user's image: the env file (Bitbucket's variables and the
// supervisor's settings) and start.sh, the step container's command, which loads the env file and
// execs supervisor.sh: PID 1 of the container, which contains the step.
//
// start.sh first sends its own stdout and stderr — and so the supervisor's, and everything the step
// starts — to a file on the task's volume instead of the container's awslogs stream: the agent reads
// it and writes it to CloudWatch with the secured values masked (agent/output.ts). A file rather than
// a pipe, so that a slow log never holds up the step and an agent that is gone never kills it.

import { fargateGraceOf } from '../aws/task-definitions';
import type { StepSpec } from '../statemachine/compiler/plan';
import { AFTER_SCRIPT_SECONDS } from '../statemachine/compiler/specs';
import { shellQuote } from '../supervisor/render';
import { supervisorEnvironment } from '../supervisor/start';
import type { AgentPaths } from './paths';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `NAME='value'` lines for `set -a; . file`; names that are not shell identifiers are left out. */
export function renderEnvFile(variables: Readonly<Record<string, string>>): string {
  const lines = ["# Written by Finale (prepare): the step's environment, loaded by start.sh."];
  for (const [name, value] of Object.entries(variables)) {
    if (NAME.test(name)) lines.push(`${name}=${shellQuote(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The supervisor's settings for this step on Fargate (supervisor/start.ts names them). */
export function fargateSupervisorEnvironment(
  spec: StepSpec,
  paths: AgentPaths,
  hasAfterScript: boolean,
): Record<string, string> {
  return supervisorEnvironment({
    dir: paths.dir,
    hasAfterScript,
    stop: { signal: spec.stop.signal, graceSeconds: fargateGraceOf(spec) },
    maxTime: spec.maxTimeMinutes * 60,
    afterScriptTimeout: AFTER_SCRIPT_SECONDS,
    cancelFile: paths.cancel,
  });
}

export function renderStartScript(paths: AgentPaths): string {
  return [
    '#!/bin/sh',
    "# Written by Finale (prepare): the step container's command.",
    `exec >>${shellQuote(paths.output)} 2>&1`,
    'set -a',
    `. ${shellQuote(paths.env)}`,
    'set +a',
    `exec /bin/sh ${shellQuote(paths.supervisor)}`,
    '',
  ].join('\n');
}
