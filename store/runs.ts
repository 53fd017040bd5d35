// Run records: one item per run, with its steps, held locks, outputs and waiting token as nested
// maps. Every write is one conditional UpdateItem that bumps `version` and returns the new record;
// a failed condition throws RunConflictError carrying the record as it is now.

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RunReason, RunStatus, StepStatus } from '../vocabulary/contract';
import type { HeldLock, RunNote, RunRecord, StopRecord, WaitingRecord } from './records';
import { createRunAccess } from './run-access';
import { runLifecycle } from './run-lifecycle';
import { runReads } from './run-reads';
import { runSteps } from './run-steps';
import { runWaits } from './run-waits';

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque; pass it back to get the next page. Absent on the last page. */
  readonly cursor?: string;
}

export interface StepResult {
  readonly status: StepStatus;
  readonly exitCode?: number;
  readonly stopCode?: string;
  readonly endedAt: number;
  readonly ignored?: boolean;
}

export interface RunsRepository {
  /** Fails with RunConflictError when a run with that id exists. */
  create(run: RunRecord): Promise<void>;
  get(runId: string): Promise<RunRecord | undefined>;
  getByBuildNumber(repository: string, buildNumber: number): Promise<RunRecord | undefined>;
  /** Newest first. */
  list(repository: string, options?: { limit?: number; cursor?: string }): Promise<Page<RunRecord>>;
  /** Every run not in a terminal status (a scan: used by the local server's orphan sweep). */
  listUnfinished(): Promise<RunRecord[]>;

  /** PENDING → RUNNING. */
  start(runId: string, at: number): Promise<RunRecord>;
  /**
   * Marks a step RUNNING for one more attempt: only while the run is RUNNING or PAUSED, and never a
   * step already marked NOT_RUN (fail-fast) — except the final step, which begins whatever the run's
   * status, once (from PENDING). `requireRunning` forces the check on (true) or off (false) whatever
   * the step's kind.
   */
  beginStep(
    runId: string,
    step: number,
    options: { at: number; requireRunning?: boolean },
  ): Promise<RunRecord>;
  recordStepResult(runId: string, step: number, result: StepResult): Promise<RunRecord>;
  /** Appends a note to the run. */
  addNote(runId: string, note: RunNote): Promise<RunRecord>;
  /**
   * A RUNNING step whose task an earlier engine started, still running: marked resumed, with a note,
   * once (RunConflictError when it is marked already or no longer RUNNING).
   */
  markResumed(runId: string, step: number, note: RunNote): Promise<RunRecord>;
  /**
   * A RUNNING step whose task was killed before it finished begins again: one more attempt, with a
   * note. Only while it is still RUNNING at attempt `attempts`.
   */
  restartStep(
    runId: string,
    step: number,
    restart: { at: number; attempts: number; note: RunNote },
  ): Promise<RunRecord>;
  /** PENDING → NOT_RUN for one step (a fail-fast sibling that has not begun). */
  skipPendingStep(runId: string, step: number): Promise<RunRecord>;
  recordTaskStarted(runId: string, step: number, taskId: string): Promise<RunRecord>;
  recordTaskEnded(
    runId: string,
    step: number,
    ended: {
      exitCode?: number;
      stopCode?: string;
      outputs: Readonly<Record<string, string>>;
      /** Sealed values of the outputs that hold a secured value. */
      securedOutputs?: Readonly<Record<string, string>>;
    },
  ): Promise<RunRecord>;

  /** RUNNING → PAUSED waiting for an approval; or, already paused at that step, a fresh token. */
  pauseForApproval(runId: string, waiting: WaitingRecord): Promise<RunRecord>;
  /**
   * PAUSED → RUNNING for the approval with that token: approved, its step becomes PENDING; refused,
   * NOT_RUN with who refused it.
   */
  resumeFromApproval(
    runId: string,
    waiting: Pick<WaitingRecord, 'step' | 'taskToken'>,
    decision: { readonly approved: true } | { readonly approved: false; readonly refusedBy: string },
  ): Promise<RunRecord>;
  /** Undoes resumeFromApproval when its token turned out to be gone (condition: nothing changed since). */
  revertApproval(runId: string, waiting: WaitingRecord, expectedVersion: number): Promise<RunRecord>;
  /** Records that a RUNNING run waits for a lock. */
  waitForLock(runId: string, waiting: WaitingRecord): Promise<RunRecord>;
  /**
   * Marks a step WAITING while the run is RUNNING or PAUSED, leaving the run's waiting record alone
   * (a PAUSED run's record is its approval).
   */
  markStepWaiting(runId: string, step: number): Promise<RunRecord>;
  /** Drops the waiting token if it is still the given one. */
  clearWaiting(runId: string, taskToken: string): Promise<RunRecord>;
  /** The run now holds the lock: recorded in its `locks` map; its lock wait (if any) ends. */
  holdLock(runId: string, key: string, held: HeldLock): Promise<RunRecord>;
  /** The run no longer holds the lock (only the acquisition with that fence, when given). */
  dropLock(runId: string, key: string, fence?: number): Promise<RunRecord>;

  /** Moves to STOPPING/DRAINING with the stop record, if the run is still at `expectedVersion`. */
  requestStop(
    runId: string,
    stop: { status: 'STOPPING' | 'DRAINING'; record: StopRecord; expectedVersion: number },
  ): Promise<RunRecord>;
  /** Phase final: fixes the outcome (kept when already set), marks steps NOT_RUN, drops the waiting token. */
  enterFinal(
    runId: string,
    change: { outcome: RunRecord['outcome']; notRun: readonly number[]; expectedVersion: number },
  ): Promise<RunRecord>;
  /** Terminal status, reason and end time; phase done; no locks held, nothing waited for. */
  finish(
    runId: string,
    end: { status: RunStatus; reason: RunReason; endedAt: number; expectedVersion: number },
  ): Promise<RunRecord>;

  /** Who executes the run (an execution ARN, or a local engine instance with its lease). */
  setEngine(runId: string, engine: NonNullable<RunRecord['engine']>): Promise<RunRecord>;
  /** Extends the lease of an engine instance that still owns the run and the run is not terminal. */
  renewEngineLease(runId: string, instance: string, leaseUntil: number): Promise<RunRecord>;
  /**
   * The run's execution ended outside Finale (aborted): outcome `outcome` (whatever it was), the
   * listed steps ERROR, a note. Only while the run is not terminal and still at `expectedVersion`.
   */
  recordAbandoned(
    runId: string,
    change: {
      outcome: NonNullable<RunRecord['outcome']>;
      erroredSteps: readonly number[];
      endedAt: number;
      note: RunNote;
      expectedVersion: number;
    },
  ): Promise<RunRecord>;
  /**
   * Takes over a run whose engine lease expired before `now` (compared in the condition): new owner,
   * outcome ERROR/orphaned, the listed steps ERROR, a note.
   */
  claimOrphan(
    runId: string,
    claim: {
      engine: NonNullable<RunRecord['engine']>;
      now: number;
      erroredSteps: readonly number[];
      endedAt: number;
      note: RunNote;
      expectedVersion: number;
    },
  ): Promise<RunRecord>;
}

export function createRunsRepository(client: DynamoDBDocumentClient, tableName: string): RunsRepository {
  const access = createRunAccess(client, tableName);
  return {
    ...runReads(access),
    ...runSteps(access),
    ...runWaits(access),
    ...runLifecycle(access),
    get: access.get,
  };
}
