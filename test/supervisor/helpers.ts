// Shared by the supervisor tests: the shells they run under, and a way to run one step for real
// and collect everything it did.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type SupervisorExit,
  type SupervisorOptions,
  type SupervisorProcess,
  startSupervisor,
} from '../../supervisor/start';

/** One way of running the supervisor: the sh that interprets supervisor.sh and runs the script. */
export interface ShellVariant {
  readonly name: string;
  /** Runs supervisor.sh. */
  readonly interpreter: readonly string[];
  /** FINALE_SHELL: runs the step's files. */
  readonly shell: string;
  /** PATH for the step, when the variant needs its own tools. */
  readonly path?: string;
  /** Background commands start with SIGINT ignored and nothing can reset it (busybox alone). */
  readonly sigintIgnored?: boolean;
}

const created: string[] = [];

/** A fresh directory under the system's temp dir, removed by removeTemporaryDirs(). */
export function temporaryDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `finale-${prefix}-`));
  created.push(dir);
  return dir;
}

/** Removes every directory temporaryDir() made (call from afterAll). */
export function removeTemporaryDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function which(command: string): string {
  return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
}

/** A directory of busybox applet links. */
function busyboxLinks(applets: readonly string[]): string {
  const busybox = which('busybox');
  const dir = temporaryDir('busybox');
  for (const applet of applets) symlinkSync(busybox, join(dir, applet));
  return dir;
}

/** One shell for the supervisor and the script (looked up when asked: dash is optional). */
export function shellVariant(name: 'dash' | 'bash'): ShellVariant {
  const path = which(name);
  return { name, interpreter: [path], shell: path };
}

/** busybox ash for the supervisor and the script; the other tools come from the system. */
export function busyboxVariant(): ShellVariant {
  const dir = busyboxLinks(['ash']);
  return { name: 'busybox', interpreter: [which('busybox'), 'sh'], shell: join(dir, 'ash') };
}

/** Nothing but busybox on PATH, as in an Alpine image: setsid and env are busybox's too. */
export function alpineVariant(): ShellVariant {
  const applets = execFileSync(which('busybox'), ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const dir = busyboxLinks(applets);
  return {
    name: 'busybox only',
    interpreter: [join(dir, 'sh')],
    shell: join(dir, 'sh'),
    path: dir,
    sigintIgnored: true,
  };
}

export interface StepRun {
  readonly exit: SupervisorExit;
  readonly stdout: string;
  readonly stderr: string;
  /** The clone directory the script ran in. */
  readonly work: string;
  /** FINALE_DIR. */
  readonly dir: string;
  /** Milliseconds from the start to the supervisor's exit. */
  readonly ms: number;
  /** When `during` asked for a stop: milliseconds from that request to the supervisor's exit. */
  readonly msAfterStop?: number;
  /** The script's process group. */
  readonly scriptPgid: number | null;
}

export interface StepContext {
  readonly supervisor: SupervisorProcess;
  readonly work: string;
  readonly dir: string;
  /** Asks for a stop and remembers when, for msAfterStop. */
  stop(mode: 'graceful' | 'immediate'): void;
}

function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  if (!stream) return Promise.resolve('');
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    stream.on('close', () => resolve(text));
    stream.on('end', () => resolve(text));
  });
}

/** Runs one step under `variant`, in a fresh clone directory; `during` acts while it runs. */
export async function runStep(
  variant: ShellVariant,
  options: Omit<SupervisorOptions, 'dir'> & { readonly dir?: string },
  during?: (context: StepContext) => Promise<void>,
): Promise<StepRun> {
  const work = temporaryDir('step');
  const dir = options.dir ?? join(work, '.finale');
  mkdirSync(dir, { recursive: true });
  const baseEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('FINALE_')),
  );
  const started = performance.now();
  const supervisor = await startSupervisor({
    shell: variant.shell,
    interpreter: variant.interpreter,
    ...options,
    dir,
    env: {
      ...baseEnv,
      ...(variant.path ? { PATH: variant.path } : {}),
      BITBUCKET_CLONE_DIR: work,
      ...options.env,
    },
  });
  const stdout = collect(supervisor.stdout);
  const stderr = collect(supervisor.stderr);
  let stoppedAt: number | undefined;
  const context: StepContext = {
    supervisor,
    work,
    dir,
    stop(mode) {
      stoppedAt ??= performance.now();
      supervisor.stop(mode);
    },
  };
  const acting = during?.(context);
  const exit = await supervisor.exited;
  const ended = performance.now();
  await acting;
  return {
    exit,
    stdout: await stdout,
    stderr: await stderr,
    work,
    dir,
    ms: ended - started,
    msAfterStop: stoppedAt === undefined ? undefined : ended - stoppedAt,
    scriptPgid: await supervisor.scriptPgid(),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for a file the script writes when it is ready (its traps are set). */
export async function waitForFile(path: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const text = await readFile(path, 'utf8');
      if (text.endsWith('\n')) return text;
    }
    await sleep(10);
  }
  throw new Error(`${path} did not appear within ${timeoutMs} ms`);
}

/** Pids of the living processes in a process group, from /proc. */
export function processesInGroup(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
  }
  return members;
}

/** Whether a pid is a living (not zombie) process. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * The living processes among `pids` and in group `pgid`, once the SIGKILLs the supervisor sent have
 * landed: a killed process takes a moment to become a zombie, so this waits up to `timeoutMs`.
 */
export async function survivors(pids: readonly number[], pgid: number, timeoutMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const living = [...pids.filter(alive), ...processesInGroup(pgid)];
    if (living.length === 0 || Date.now() > deadline) return [...new Set(living)];
    await sleep(20);
  }
}

/** Reads a pid the script wrote to a file. */
export function pidIn(path: string): number {
  return Number(readFileSync(path, 'utf8').trim());
}
