// The contract between the step supervisor (supervisor.sh) and whatever starts it: the local
// process runner and, on AWS, the agent container of the step's ECS task. Both sides import this.

/** Exit statuses of supervisor.sh. A failed script passes its own exit code through. */
export const SUPERVISOR_EXIT = {
  success: 0,
  /** A stop request (graceful or immediate) ended the step. */
  stopped: 240,
  /** The step ran past its max-time and was stopped gracefully. */
  timedOut: 241,
  /** The supervisor could not run the step at all (missing script file, bad settings). */
  error: 242,
} as const;

/**
 * A script that itself exits with one of the reserved codes above is reported as failed with
 * this code instead; the status file keeps the real one.
 */
const RESERVED_EXIT_REPLACEMENT = 1;

export type StepOutcome = 'succeeded' | 'failed' | 'stopped' | 'timed-out' | 'error';

export type StopSignal = 'TERM' | 'INT';

/** Environment variables the supervisor reads (besides Bitbucket's own variables, which it passes on). */
export const SUPERVISOR_ENV = {
  /** Directory for the supervisor's files: status, output-variables, pid files. Must exist. */
  dir: 'FINALE_DIR',
  /** The step's script, a file rendered by supervisor/render.ts. */
  script: 'FINALE_SCRIPT',
  /** The step's after-script file; optional. */
  afterScript: 'FINALE_AFTER_SCRIPT',
  /** TERM (default) or INT: the one signal a graceful stop sends to the script's process group. */
  stopSignal: 'FINALE_STOP_SIGNAL',
  /** Seconds between that signal and SIGKILL (default 30). */
  stopGrace: 'FINALE_STOP_GRACE',
  /** Seconds the script may run before a graceful timeout stop; 0 or unset means no limit. */
  maxTime: 'FINALE_MAX_TIME',
  /** Seconds the after-script may run before it is killed (default 600). */
  afterScriptTimeout: 'FINALE_AFTER_SCRIPT_TIMEOUT',
  /** Optional file whose appearance means "stop gracefully" (the >120 s grace path on Fargate). */
  cancelFile: 'FINALE_CANCEL_FILE',
  /** The shell that runs the script and after-script files (default: bash if the image has it, else sh). */
  shell: 'FINALE_SHELL',
} as const;

/** The variable that hands a local step's masking process its values (JSON): never its arguments. */
export const MASK_VALUES_ENV = 'FINALE_MASK_VALUES';

/** Files the supervisor writes under FINALE_DIR. */
export const SUPERVISOR_FILES = {
  /** One line: `outcome=<StepOutcome> exit=<script exit code> stop=<none|graceful|immediate|timeout>`. */
  status: 'status',
  /** BITBUCKET_PIPELINES_VARIABLES_PATH points here: `NAME=value` lines written by the script. */
  outputVariables: 'output-variables',
  /** The script's process group id, written as soon as it starts. */
  scriptPgid: 'script.pgid',
  /** The after-script's process group id, written as soon as it starts. */
  afterScriptPgid: 'after-script.pgid',
} as const;

export interface SupervisorStatus {
  readonly outcome: StepOutcome;
  /** The script's own exit status (128+n when killed by signal n). */
  readonly exitCode: number;
  readonly stop: 'none' | 'graceful' | 'immediate' | 'timeout';
}

/** Parses the status file; returns null when it is missing or malformed (the supervisor was killed). */
export function parseSupervisorStatus(text: string | null | undefined): SupervisorStatus | null {
  if (!text) return null;
  const fields = Object.fromEntries(
    text
      .trim()
      .split(/\s+/)
      .map((pair) => pair.split('=', 2) as [string, string]),
  );
  const outcome = fields.outcome as StepOutcome | undefined;
  const exitCode = Number(fields.exit);
  const stop = fields.stop as SupervisorStatus['stop'] | undefined;
  if (!outcome || !['succeeded', 'failed', 'stopped', 'timed-out', 'error'].includes(outcome)) return null;
  if (!Number.isInteger(exitCode) || !stop) return null;
  return { outcome, exitCode, stop };
}

/** Maps a supervisor exit status to an outcome, for runtimes that only see the exit code (ECS). */
export function outcomeOfExitCode(code: number | null | undefined): StepOutcome {
  if (code === SUPERVISOR_EXIT.success) return 'succeeded';
  if (code === SUPERVISOR_EXIT.stopped) return 'stopped';
  if (code === SUPERVISOR_EXIT.timedOut) return 'timed-out';
  if (code === SUPERVISOR_EXIT.error || code === null || code === undefined) return 'error';
  return 'failed';
}

/** NAME=value lines, as Bitbucket's output-variables file holds them. */
export function parseOutputVariables(text: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) variables[line.slice(0, eq).trim()] = line.slice(eq + 1).replace(/\r$/, '');
  }
  return variables;
}

/** The supervisor's exit status, from its status file: for whoever cannot wait for it (the agent in another container, an engine that adopted it). */
export function exitCodeOfStatus(status: SupervisorStatus): number {
  switch (status.outcome) {
    case 'succeeded':
      return SUPERVISOR_EXIT.success;
    case 'stopped':
      return SUPERVISOR_EXIT.stopped;
    case 'timed-out':
      return SUPERVISOR_EXIT.timedOut;
    case 'error':
      return SUPERVISOR_EXIT.error;
    case 'failed': {
      const reserved = (Object.values(SUPERVISOR_EXIT) as number[]).includes(status.exitCode);
      return reserved ? RESERVED_EXIT_REPLACEMENT : status.exitCode;
    }
  }
}
