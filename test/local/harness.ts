// The embedded engine under test: a real git repository in a temp dir, the real local host (dynalite
// persisted on disk, aws-local-stepfunctions, supervisor processes) and marker files the pipelines'
// scripts write, so a test can tell what really ran, how often, and when.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryEvent } from '../../local/engine';
import { type LocalHost, type LocalHostOptions, openLocalHost } from '../../local/host';
import { type FinalePaths, finalePaths } from '../../local/paths';
import { controlDirs, killStep } from '../../local/step-processes';
import type { RunRecord, StepRecord } from '../../store/records';

export interface Sandbox {
  readonly root: string;
  readonly markers: string;
  readonly paths: FinalePaths;
}

/**
 * A git repository with one pipeline file and a markers directory (exported to steps as $MARKERS).
 * Its .gitignore lists `.finale/`, as many users' will, unless `ignoreFinale` is false.
 */
export function sandbox(
  yaml: string,
  files: Record<string, string> = {},
  options: { ignoreFinale?: boolean } = {},
): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'finale-engine-'));
  const markers = join(root, '.markers');
  mkdirSync(markers);
  writeFileSync(join(root, 'bitbucket-pipelines.yml'), yaml);
  writeFileSync(
    join(root, '.gitignore'),
    options.ignoreFinale === false ? '.markers/\n' : '.markers/\n.finale/\n',
  );
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(root, name), text, { mode: 0o755 });
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=test@example.com', '-c', 'user.name=Test', 'commit', '-qm', 'pipeline');
  return { root, markers, paths: finalePaths(root) };
}

const hosts = new Map<LocalHost, Sandbox>();

export async function openHost(
  box: Sandbox,
  options: Pick<LocalHostOptions, 'minuteSeconds' | 'seams' | 'leaseSeconds'> = {},
): Promise<LocalHost> {
  const host = await openLocalHost({
    paths: box.paths,
    leaseSeconds: 2,
    environment: { ...process.env, MARKERS: box.markers },
    ...options,
  });
  hosts.set(host, box);
  return host;
}

/**
 * Kills every step process of the sandbox's runs: closing a host hands its runs over and leaves their
 * steps running for the next engine, which a test that ends there never starts.
 */
export async function killSteps(box: Pick<Sandbox, 'paths'>): Promise<void> {
  const runs = await readdir(`${box.paths.home}/runs`).catch(() => [] as string[]);
  for (const runId of runs) {
    for (const dir of (await controlDirs(box.paths, runId)).values()) await killStep(dir);
  }
}

/** Closes a host opened by openHost, and kills what its runs left running. */
export async function closeHost(host: LocalHost | undefined): Promise<void> {
  if (!host) return;
  await host.close();
  const box = hosts.get(host);
  hosts.delete(host);
  if (box) await killSteps(box);
}

export const ALICE = { user: 'alice@example.com' };
export const BOB = { user: 'bob@example.com' };

export async function start(host: LocalHost, pipeline?: string, caller = ALICE) {
  const started = await host.runs.start({
    repository: host.repository,
    file: 'bitbucket-pipelines.yml',
    variables: {},
    caller,
    ...(pipeline ? { pipeline } : {}),
  });
  return started.run;
}

export async function runOf(host: LocalHost, runId: string): Promise<RunRecord> {
  const run = await host.core.getRun(runId);
  if (!run) throw new Error(`no run ${runId}`);
  return run;
}

export function stepsOf(run: RunRecord): StepRecord[] {
  return Object.values(run.steps).sort((a, b) => a.index - b.index);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds (the engine works in other processes and timers). */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Waits until a marker file exists (a script got that far). */
export function marker(box: Sandbox, name: string, timeoutMs?: number): Promise<string> {
  return until(
    `marker ${name}`,
    async () => existsSync(join(box.markers, name)) && readMarker(box, name),
    timeoutMs,
  );
}

export function readMarker(box: Sandbox, name: string): string {
  const path = join(box.markers, name);
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Lines of a marker file (scripts append one line per event). */
export function markerLines(box: Sandbox, name: string): string[] {
  return readMarker(box, name)
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** The execution history the engine recorded for a run. */
export function history(box: Sandbox, runId: string): HistoryEvent[] {
  const file = box.paths.run(runId).history;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as HistoryEvent);
}

export function entered(events: readonly HistoryEvent[], state: string): number {
  return events.filter((event) => event.type === 'StateEntered' && event.state?.name === state).length;
}

/** Every lock of the repository is free and nobody is queued. */
export async function locksAreFree(host: LocalHost): Promise<boolean> {
  const locks = await host.core.listLocks(host.repository);
  return locks.every((lock) => !lock.holder && lock.waiters.length === 0);
}

/** Runs the whole check list the fault matrix asks of every cell. */
export async function settle(host: LocalHost, runId: string): Promise<RunRecord> {
  await host.settled(runId);
  return runOf(host, runId);
}
