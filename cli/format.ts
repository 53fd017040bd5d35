// Shared presentation of runs and steps for the CLI commands.

import type { RunRecord, StepRecord } from '../store/records';
import type { RunStatus, StepStatus } from '../vocabulary/contract';
import { out } from './output';

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}

export function stepDuration(step: StepRecord, now = Date.now()): number | undefined {
  if (step.startedAt === undefined) return undefined;
  return (step.endedAt ?? now) - step.startedAt;
}

export function runDuration(run: RunRecord, now = Date.now()): number | undefined {
  const start = run.startedAt ?? run.createdAt;
  return (run.endedAt ?? now) - start;
}

const SYMBOL: Record<StepStatus, string> = {
  PENDING: '·',
  WAITING: '⏸',
  RUNNING: '▸',
  SUCCESSFUL: '✔',
  FAILED: '✖',
  STOPPED: '■',
  TIMED_OUT: '⏱',
  SKIPPED: '↷',
  NOT_RUN: '·',
  ERROR: '✖',
};

export function stepSymbol(status: StepStatus): string {
  const symbol = SYMBOL[status];
  if (status === 'SUCCESSFUL') return out.green(symbol);
  if (status === 'FAILED' || status === 'ERROR' || status === 'TIMED_OUT') return out.red(symbol);
  if (status === 'STOPPED' || status === 'WAITING') return out.yellow(symbol);
  return out.dim(symbol);
}

/** The status in its colour; `width` pads it first, so colour codes do not upset columns. */
export function colourStatus(status: RunStatus | StepStatus, width = 0): string {
  const text = status.padEnd(width);
  if (status === 'SUCCESSFUL') return out.green(text);
  if (status === 'FAILED' || status === 'ERROR' || status === 'TIMED_OUT') return out.red(text);
  if (status === 'STOPPED' || status === 'STOPPING' || status === 'DRAINING' || status === 'PAUSED')
    return out.yellow(text);
  return text;
}

/** Steps in pipeline order, with the final step's Bitbucket prefix. */
export function orderedSteps(run: RunRecord): StepRecord[] {
  return Object.values(run.steps).sort((a, b) => a.index - b.index);
}

export function stepLabel(step: Pick<StepRecord, 'name' | 'kind'>): string {
  return step.kind === 'final' ? `[Final Step] ${step.name}` : step.name;
}

/** The exit code of `finale run` for a finished run: 0 successful, 130 stopped, 1 otherwise. */
export function exitCodeOf(status: RunStatus): number {
  if (status === 'SUCCESSFUL') return 0;
  if (status === 'STOPPED') return 130;
  return 1;
}

/** One step as `finale run --json` and `finale show --json` report it. */
function stepSummary(step: StepRecord) {
  return {
    index: step.index,
    name: step.name,
    status: step.status,
    exitCode: step.exitCode ?? null,
    attempts: step.attempts,
    final: step.kind === 'final',
    startedAt: step.startedAt === undefined ? null : new Date(step.startedAt).toISOString(),
    durationMs:
      step.startedAt === undefined || step.endedAt === undefined ? null : step.endedAt - step.startedAt,
    ...(step.ignored ? { ignored: true } : {}),
    ...(step.refusedBy ? { refusedBy: step.refusedBy } : {}),
  };
}

export function runSummary(run: RunRecord) {
  return {
    runId: run.runId,
    buildNumber: run.buildNumber,
    repository: run.repository,
    pipeline: run.pipeline,
    status: run.status,
    reason: run.reason ?? null,
    commit: run.trigger.commit,
    startedBy: run.startedBy,
    createdAt: new Date(run.createdAt).toISOString(),
    endedAt: run.endedAt === undefined ? null : new Date(run.endedAt).toISOString(),
    durationMs: run.endedAt === undefined ? null : runDuration(run),
    ...(run.stop ? { stop: run.stop } : {}),
    /** What happened that the statuses do not tell: an engine that went away, a forced unlock. */
    notes: (run.notes ?? []).map((note) => `${new Date(note.at).toISOString()} ${note.text}`),
    steps: orderedSteps(run).map(stepSummary),
  };
}
