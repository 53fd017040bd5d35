// Starts supervisor.sh as a local process: the one way Node code (the embedded engine's process
// runner, the tests, the benchmark) runs a step's script. The supervisor does all the signal work;
// this only writes the rendered files, sets the contract's environment and reads the results.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeSync } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { FinaleError } from '../vocabulary/errors';
import { type Containment, childOf } from './containment';
import {
  MASK_VALUES_ENV,
  outcomeOfExitCode,
  parseOutputVariables,
  parseSupervisorStatus,
  type StepOutcome,
  type StopSignal,
  SUPERVISOR_ENV,
  SUPERVISOR_EXIT,
  SUPERVISOR_FILES,
  type SupervisorStatus,
} from './contract';
import type { SecuredValue } from './masking';
import { renderStep } from './render';

/** supervisor.sh, found both from source (supervisor/) and from the bundle (dist/). */
export const SUPERVISOR_PATH = fileURLToPath(new URL('../supervisor/supervisor.sh', import.meta.url));

/** The masking process (supervisor/mask-main.ts, bundled beside the CLI as dist/mask.js). */
export const MASK_PATH = fileURLToPath(new URL('../dist/mask.js', import.meta.url));

/** How long a step's end waits for its masking process to write the last of the output. */
const MASK_DRAIN_MS = 2000;

/** The rendered files startSupervisor writes into FINALE_DIR. */
export const SCRIPT_FILES = { script: 'script.sh', afterScript: 'after-script.sh' } as const;

export interface SupervisorOptions {
  /** FINALE_DIR: created when missing; the rendered script files go here too. */
  readonly dir: string;
  /** The step's script items, as written. */
  readonly script: readonly string[];
  readonly afterScript?: readonly string[];
  /**
   * The step's environment, Bitbucket's variables included (BITBUCKET_CLONE_DIR is where the script
   * runs). The supervisor's own settings are added. Default: this process's environment.
   */
  readonly env?: NodeJS.ProcessEnv;
  /** The supervisor's working directory when BITBUCKET_CLONE_DIR is not set. */
  readonly cwd?: string;
  /** Default: SIGTERM, 30 s grace. */
  readonly stop?: { readonly signal?: StopSignal; readonly graceSeconds?: number };
  /** Seconds; 0 or absent: no limit. */
  readonly maxTime?: number;
  /** Seconds the after-script may run (the supervisor's default: 600). */
  readonly afterScriptTimeout?: number;
  /** A file whose appearance means "stop gracefully". */
  readonly cancelFile?: string;
  /** The shell that runs the script (FINALE_SHELL); the supervisor's default: bash if present, else sh. */
  readonly shell?: string;
  /** The command that runs supervisor.sh, e.g. ['busybox', 'sh']. Default: ['/bin/sh']. */
  readonly interpreter?: readonly string[];
  /** stdout and stderr: piped (read them from the result), a file descriptor, inherited or ignored. */
  readonly output?: 'pipe' | 'inherit' | 'ignore' | number;
  /**
   * Secured values to mask in the output (a file descriptor only): a masking process of its own
   * stands between the supervisor and `output`, so the bytes reach the file already masked.
   */
  readonly mask?: readonly SecuredValue[];
  /** Start the supervisor as PID 1 of a PID namespace of its own (containment.ts); default: not. */
  readonly contain?: Containment | null;
  /** Aborted before the process starts (files are written first): it does not start, and this throws. */
  readonly signal?: AbortSignal;
}

export interface SupervisorExit {
  /** The supervisor's exit status (SUPERVISOR_EXIT, or the failed script's code); null if killed. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The status file, or null when the supervisor could not write it (it was killed). */
  readonly status: SupervisorStatus | null;
  readonly outcome: StepOutcome;
  /** NAME=value pairs the script wrote to BITBUCKET_PIPELINES_VARIABLES_PATH. */
  readonly outputVariables: Readonly<Record<string, string>>;
}

export interface SupervisorProcess {
  /** The process started: the supervisor, or the `unshare` that contains it. */
  readonly pid: number;
  /** That process's group (it leads it); the script runs in another one. */
  readonly pgid: number;
  readonly contained: boolean;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exited: Promise<SupervisorExit>;
  /**
   * Asks for a graceful (SIGTERM) or immediate (SIGUSR1) stop; false once the supervisor is gone.
   * Each call sends one signal, once the supervisor has started the script: its traps are set by then
   * (a contained supervisor, being PID 1, would not even see a signal it has no trap for yet).
   */
  stop(mode: 'graceful' | 'immediate'): boolean;
  /** The pid of supervisor.sh itself, as seen from here; undefined once it has gone. */
  supervisorPid(): Promise<number | undefined>;
  /** The script's process group id, once the supervisor has started it. */
  scriptPgid(): Promise<number | null>;
}

/** The FINALE_* settings for a set of options. */
export function supervisorEnvironment(
  options: Omit<SupervisorOptions, 'script' | 'afterScript'> & { readonly hasAfterScript: boolean },
): Record<string, string> {
  const env: Record<string, string> = {
    [SUPERVISOR_ENV.dir]: options.dir,
    [SUPERVISOR_ENV.script]: join(options.dir, SCRIPT_FILES.script),
  };
  if (options.hasAfterScript) env[SUPERVISOR_ENV.afterScript] = join(options.dir, SCRIPT_FILES.afterScript);
  if (options.stop?.signal) env[SUPERVISOR_ENV.stopSignal] = options.stop.signal;
  if (options.stop?.graceSeconds !== undefined)
    env[SUPERVISOR_ENV.stopGrace] = String(options.stop.graceSeconds);
  if (options.maxTime !== undefined) env[SUPERVISOR_ENV.maxTime] = String(options.maxTime);
  if (options.afterScriptTimeout !== undefined) {
    env[SUPERVISOR_ENV.afterScriptTimeout] = String(options.afterScriptTimeout);
  }
  if (options.cancelFile) env[SUPERVISOR_ENV.cancelFile] = options.cancelFile;
  if (options.shell) env[SUPERVISOR_ENV.shell] = options.shell;
  return env;
}

/** The masking process for a step with secured values, writing to its log; none otherwise. */
function startMasker(options: SupervisorOptions): ChildProcess | undefined {
  if (!options.mask?.length) return undefined;
  if (typeof options.output !== 'number') {
    throw new Error('masking needs the output to be a file descriptor: a pipe would hand out unmasked bytes');
  }
  // Without it the step's output would go to a process that died at once: lost, and SIGPIPE for the step.
  if (!existsSync(MASK_PATH)) {
    throw new FinaleError(
      `${MASK_PATH} is missing, so secured values cannot be masked: run \`npm run build\``,
    );
  }
  // Detached, like the supervisor: it must outlive the engine that started it. Its environment holds
  // only the values and PATH, so no process listing takes it for one of the step's (no FINALE_DIR).
  return spawn(process.execPath, [MASK_PATH], {
    env: { PATH: process.env.PATH ?? '', [MASK_VALUES_ENV]: JSON.stringify(options.mask) },
    detached: true,
    stdio: ['pipe', options.output, options.output],
  });
}

function inheritedEnvironment(): NodeJS.ProcessEnv {
  // Settings of an outer supervisor (or a test's) must not leak into this one.
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FINALE_')));
}

async function readText(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}

async function collectExit(
  child: ChildProcess,
  dir: string,
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  contained: boolean,
): Promise<SupervisorExit> {
  const ending = await ended;
  const status = parseSupervisorStatus(await readText(join(dir, SUPERVISOR_FILES.status)));
  // A contained supervisor always writes its status before it exits, and `unshare` passes its exit
  // code on; without a status it was killed — and unshare (2.38) then exits 1, not by the signal.
  const { code, signal } =
    contained && !status ? { code: null, signal: 'SIGKILL' as NodeJS.Signals } : ending;
  const outputVariables = parseOutputVariables(
    (await readText(join(dir, SUPERVISOR_FILES.outputVariables))) ?? '',
  );
  const outcome = status?.outcome ?? outcomeOfExitCode(code);
  child.removeAllListeners();
  return { code, signal, status, outcome, outputVariables };
}

/** Renders the step's files into `dir` and starts the supervisor there. */
export async function startSupervisor(options: SupervisorOptions): Promise<SupervisorProcess> {
  const { dir } = options;
  await mkdir(dir, { recursive: true });
  const rendered = renderStep({ script: options.script, afterScript: options.afterScript ?? [] });
  await writeFile(join(dir, SCRIPT_FILES.script), rendered.script);
  if (rendered.afterScript !== null)
    await writeFile(join(dir, SCRIPT_FILES.afterScript), rendered.afterScript);

  const env = {
    ...(options.env ?? inheritedEnvironment()),
    ...supervisorEnvironment({ ...options, hasAfterScript: rendered.afterScript !== null }),
  };
  const [command, ...args] = [...(options.contain?.prefix ?? []), ...(options.interpreter ?? ['/bin/sh'])];
  options.signal?.throwIfAborted();
  const masker = startMasker(options);
  const output = masker?.stdin ?? options.output ?? 'pipe';
  // Detached: the supervisor leads its own process group and session, so a terminal's Ctrl+C
  // reaches it only through stop(), and no controlling tty tempts bash's job control.
  const child = spawn(command ?? '/bin/sh', [...args, SUPERVISOR_PATH], {
    cwd: options.cwd ?? dir,
    env,
    detached: true,
    stdio: ['ignore', output, output],
  });
  // Only the step's processes hold the pipe now: the masker ends when the last of them has exited.
  masker?.stdin?.destroy();
  const maskerDone = new Promise<void>((resolve) => {
    if (!masker) return resolve();
    masker.once('exit', () => resolve());
    masker.once('error', (error) => {
      // The step's output then went nowhere: its log says why.
      writeSync(options.output as number, `finale: the masking process failed: ${error.message}\n`);
      resolve();
    });
  });
  masker?.unref();
  let gone = false;
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      gone = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      gone = true;
      resolve({ code: SUPERVISOR_EXIT.error, signal: null });
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    const exit = await collectExit(child, dir, ended, Boolean(options.contain));
    throw new Error(`could not start ${command}: supervisor exited with ${exit.code}`);
  }
  // The log is whole once the masker has written its last bytes — unless a process the step left
  // behind (uncontained) still holds the pipe: then the step's end does not wait for it, and the
  // masker goes on masking what that process prints.
  const exited = collectExit(child, dir, ended, Boolean(options.contain)).then(async (exit) => {
    await Promise.race([maskerDone, sleep(MASK_DRAIN_MS)]);
    return exit;
  });
  const contained = Boolean(options.contain);

  const supervisorPid = async (): Promise<number | undefined> => {
    if (!contained) return gone ? undefined : pid;
    for (;;) {
      if (gone) return undefined;
      const inner = childOf(pid);
      if (inner !== undefined) return inner;
      await sleep(2);
    }
  };
  // Signals wait, in order, until the script has started (script.pgid is written after the traps).
  let deliveries = Promise.resolve();
  const deliver = (signal: NodeJS.Signals) => {
    deliveries = deliveries.then(async () => {
      while (!gone && !(await exists(join(dir, SUPERVISOR_FILES.scriptPgid)))) await sleep(2);
      const target = await supervisorPid();
      if (target === undefined) return;
      try {
        process.kill(target, signal);
      } catch {
        // It has just exited: its status says how it ended.
      }
    });
  };
  return {
    pid,
    pgid: pid,
    contained,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    stop(mode) {
      if (gone) return false;
      deliver(mode === 'immediate' ? 'SIGUSR1' : 'SIGTERM');
      return true;
    },
    supervisorPid,
    async scriptPgid() {
      const text = await readText(join(dir, SUPERVISOR_FILES.scriptPgid));
      const pgid = Number(text?.trim());
      return Number.isInteger(pgid) && pgid > 1 ? pgid : null;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
