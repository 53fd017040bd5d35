// The files that start the step in the user's image: the env file (Bitbucket's variables and the
// supervisor's settings) and start.sh, the step container's command, which records the supervisor's
// pid, loads the env file and execs supervisor.sh.

import { fargateGraceOf } from '../aws/task-definitions';
import type { StepSpec } from '../statemachine/compiler/plan';
import { AFTER_SCRIPT_SECONDS } from '../statemachine/compiler/specs';
import { SUPERVISOR_ENV } from '../supervisor/contract';
import { shellQuote } from '../supervisor/render';
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

/** The supervisor's settings for this step on Fargate. */
export function supervisorEnvironment(
  spec: StepSpec,
  paths: AgentPaths,
  hasAfterScript: boolean,
): Record<string, string> {
  return {
    [SUPERVISOR_ENV.dir]: paths.dir,
    [SUPERVISOR_ENV.script]: paths.script,
    ...(hasAfterScript ? { [SUPERVISOR_ENV.afterScript]: paths.afterScript } : {}),
    [SUPERVISOR_ENV.stopSignal]: spec.stop.signal,
    [SUPERVISOR_ENV.stopGrace]: String(fargateGraceOf(spec)),
    [SUPERVISOR_ENV.maxTime]: String(spec.maxTimeMinutes * 60),
    [SUPERVISOR_ENV.afterScriptTimeout]: String(AFTER_SCRIPT_SECONDS),
    [SUPERVISOR_ENV.cancelFile]: paths.cancel,
  };
}

export function renderStartScript(paths: AgentPaths): string {
  return [
    '#!/bin/sh',
    "# Written by Finale (prepare): the step container's command.",
    `echo $$ > ${shellQuote(paths.supervisorPid)}`,
    'set -a',
    `. ${shellQuote(paths.env)}`,
    'set +a',
    `exec /bin/sh ${shellQuote(paths.supervisor)}`,
    '',
  ].join('\n');
}
