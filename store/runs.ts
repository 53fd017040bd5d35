// Run records: one item per run, with its steps, held locks, outputs and waiting token as nested
// maps. Every write is one conditional UpdateItem that bumps `version` and returns the new record;
// a failed condition throws RunConflictError carrying the record as it is now.

import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type RunReason,
  type RunStatus,
  type StepStatus,
  TERMINAL_RUN_STATUSES,
} from '../vocabulary/contract';
import { UsageError } from '../vocabulary/errors';
import { ConditionFailedError, isConditionalCheckFailure, RunConflictError } from './errors';
import { Expression } from './expression';
import type { HeldLock, RunNote, RunRecord, StopRecord, WaitingRecord } from './records';
import { TABLES } from './tables';

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
    ended: { exitCode?: number; stopCode?: string; outputs: Readonly<Record<string, string>> },
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

type Item = RunRecord & { expiresAt?: number };

/**
 * Statuses in which steps may begin and locks be taken: PAUSED too, since one branch of a parallel
 * group may wait for its approval while its siblings go on.
 */
const ACTIVE: readonly RunStatus[] = ['RUNNING', 'PAUSED'];

export function createRunsRepository(client: DynamoDBDocumentClient, tableName: string): RunsRepository {
  const runKey = (runId: string) => ({ runId });
  const stepPath = (step: number, field: string) => ['steps', String(step), field];

  async function get(runId: string): Promise<RunRecord | undefined> {
    const out = await client.send(
      new GetCommand({ TableName: tableName, Key: runKey(runId), ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item as Item) : undefined;
  }

  /** One conditional update of an existing run; `describe` names the operation in errors. */
  async function update(runId: string, describe: string, build: (e: Expression) => void): Promise<RunRecord> {
    const e = new Expression();
    e.where(e.exists(['runId']));
    build(e);
    e.add(['version'], 1);
    try {
      const out = await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: runKey(runId),
          ReturnValues: 'ALL_NEW',
          ...e.build(),
        }),
      );
      return toRecord(out.Attributes as Item);
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      const current = await get(runId);
      const state = current ? `it is ${current.status} (phase ${current.phase})` : 'it does not exist';
      throw new RunConflictError(`Run ${runId}: cannot ${describe}: ${state}`, current, {
        cause: error,
      });
    }
  }

  return {
    async create(run) {
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: run,
            ConditionExpression: 'attribute_not_exists(runId)',
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailure(error)) throw error;
        throw new RunConflictError(`Run ${run.runId} already exists`, await get(run.runId), {
          cause: error,
        });
      }
    },

    get,

    async getByBuildNumber(repository, buildNumber) {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TABLES.runs.indexes[0].name,
          KeyConditionExpression: '#r = :r AND #b = :b',
          ExpressionAttributeNames: { '#r': 'repository', '#b': 'buildNumber' },
          ExpressionAttributeValues: { ':r': repository, ':b': buildNumber },
        }),
      );
      const item = out.Items?.[0];
      return item ? toRecord(item as Item) : undefined;
    },

    async list(repository, options = {}) {
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TABLES.runs.indexes[0].name,
          KeyConditionExpression: '#r = :r',
          ExpressionAttributeNames: { '#r': 'repository' },
          ExpressionAttributeValues: { ':r': repository },
          ScanIndexForward: false,
          Limit: options.limit ?? 25,
          ...(options.cursor ? { ExclusiveStartKey: decodeCursor(options.cursor) } : {}),
        }),
      );
      return {
        items: (out.Items ?? []).map((item) => toRecord(item as Item)),
        ...(out.LastEvaluatedKey ? { cursor: encodeCursor(out.LastEvaluatedKey) } : {}),
      };
    },

    async listUnfinished() {
      const runs: RunRecord[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const e = new Expression();
        e.where(e.not(e.in(['status'], TERMINAL_RUN_STATUSES)));
        const { ConditionExpression, ...names } = e.build();
        const out = await client.send(
          new ScanCommand({
            TableName: tableName,
            FilterExpression: ConditionExpression,
            ...names,
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        runs.push(...(out.Items ?? []).map((item) => toRecord(item as Item)));
        start = out.LastEvaluatedKey;
      } while (start);
      return runs;
    },

    start: (runId, at) =>
      update(runId, 'start', (e) => {
        e.where(e.eq(['status'], 'PENDING'));
        e.set(['status'], 'RUNNING').set(['startedAt'], at);
      }),

    beginStep: (runId, step, { at, requireRunning }) =>
      update(runId, `begin step ${step}`, (e) => {
        e.where(e.exists(['steps', String(step)]));
        // One conditional write decides, so beginning a step costs one round trip.
        // (Built only when used: an unused expression value is a ValidationException.)
        const running = () =>
          `(${e.in(['status'], ACTIVE)} AND ${e.ne(stepPath(step, 'status'), 'NOT_RUN')})`;
        if (requireRunning === true) e.where(running());
        else if (requireRunning === undefined) {
          // A final step begins whatever the run's status — but once: from PENDING only.
          const kind = stepPath(step, 'kind');
          e.where(
            e.or(
              `(${e.eq(kind, 'final')} AND ${e.eq(stepPath(step, 'status'), 'PENDING')})`,
              `(${e.ne(kind, 'final')} AND ${running()})`,
            ),
          );
        }
        e.set(stepPath(step, 'status'), 'RUNNING').set(stepPath(step, 'startedAt'), at);
        for (const stale of ['endedAt', 'exitCode', 'stopCode', 'taskId', 'ignored'])
          e.remove(stepPath(step, stale));
        e.add(stepPath(step, 'attempts'), 1);
      }),

    recordStepResult: (runId, step, result) =>
      update(runId, `record the result of step ${step}`, (e) => {
        e.where(e.exists(['steps', String(step)]));
        e.set(stepPath(step, 'status'), result.status).set(stepPath(step, 'endedAt'), result.endedAt);
        if (result.exitCode !== undefined) e.set(stepPath(step, 'exitCode'), result.exitCode);
        if (result.stopCode !== undefined) e.set(stepPath(step, 'stopCode'), result.stopCode);
        if (result.ignored) e.set(stepPath(step, 'ignored'), true);
      }),

    addNote: (runId, note) =>
      update(runId, 'add a note', (e) => {
        e.append(['notes'], [note]);
      }),

    markResumed: (runId, step, note) =>
      update(runId, `resume step ${step}`, (e) => {
        e.where(e.eq(stepPath(step, 'status'), 'RUNNING'));
        e.where(e.notExists(stepPath(step, 'resumed')));
        e.set(stepPath(step, 'resumed'), true).append(['notes'], [note]);
      }),

    restartStep: (runId, step, { at, attempts, note }) =>
      update(runId, `restart step ${step}`, (e) => {
        e.where(e.eq(stepPath(step, 'status'), 'RUNNING'));
        e.where(e.eq(stepPath(step, 'attempts'), attempts));
        e.set(stepPath(step, 'startedAt'), at).append(['notes'], [note]);
        for (const stale of ['endedAt', 'exitCode', 'stopCode', 'taskId', 'ignored', 'resumed'])
          e.remove(stepPath(step, stale));
        e.add(stepPath(step, 'attempts'), 1);
      }),

    skipPendingStep: (runId, step) =>
      update(runId, `skip step ${step}`, (e) => {
        e.where(e.eq(stepPath(step, 'status'), 'PENDING'));
        e.set(stepPath(step, 'status'), 'NOT_RUN');
      }),

    recordTaskStarted: (runId, step, taskId) =>
      update(runId, `record the task of step ${step}`, (e) => {
        e.where(e.exists(['steps', String(step)]));
        e.set(stepPath(step, 'taskId'), taskId);
      }),

    recordTaskEnded: (runId, step, ended) =>
      update(runId, `record the end of step ${step}`, (e) => {
        e.where(e.exists(['steps', String(step)]));
        if (ended.exitCode !== undefined) e.set(stepPath(step, 'exitCode'), ended.exitCode);
        if (ended.stopCode !== undefined) e.set(stepPath(step, 'stopCode'), ended.stopCode);
        for (const [name, value] of Object.entries(ended.outputs)) e.set(['outputs', name], value);
      }),

    pauseForApproval: (runId, waiting) =>
      update(runId, `wait for the approval of step ${waiting.step}`, (e) => {
        e.where(
          e.or(
            e.eq(['status'], 'RUNNING'),
            `(${e.eq(['status'], 'PAUSED')} AND ${e.eq(['waiting', 'kind'], 'approval')} AND ${e.eq(['waiting', 'step'], waiting.step)})`,
          ),
        );
        e.set(['status'], 'PAUSED')
          .set(['waiting'], waiting)
          .set(stepPath(waiting.step, 'status'), 'WAITING')
          .remove(stepPath(waiting.step, 'refusedBy'));
      }),

    resumeFromApproval: (runId, waiting, decision) =>
      update(runId, 'resume from the approval', (e) => {
        e.where(e.eq(['status'], 'PAUSED'));
        e.where(e.eq(['waiting', 'taskToken'], waiting.taskToken));
        e.set(['status'], 'RUNNING')
          .remove(['waiting'])
          .set(stepPath(waiting.step, 'status'), decision.approved ? 'PENDING' : 'NOT_RUN');
        if (!decision.approved) e.set(stepPath(waiting.step, 'refusedBy'), decision.refusedBy);
      }),

    revertApproval: (runId, waiting, expectedVersion) =>
      update(runId, 'restore the approval wait', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.set(['status'], 'PAUSED')
          .set(['waiting'], waiting)
          .set(stepPath(waiting.step, 'status'), 'WAITING')
          .remove(stepPath(waiting.step, 'refusedBy'));
      }),

    waitForLock: (runId, waiting) =>
      update(runId, `wait for lock ${waiting.lock}`, (e) => {
        e.where(e.eq(['status'], 'RUNNING'));
        e.set(['waiting'], waiting).set(stepPath(waiting.step, 'status'), 'WAITING');
      }),

    markStepWaiting: (runId, step) =>
      update(runId, `mark step ${step} waiting`, (e) => {
        e.where(e.in(['status'], ACTIVE));
        e.where(e.exists(['steps', String(step)]));
        e.set(stepPath(step, 'status'), 'WAITING');
      }),

    clearWaiting: (runId, taskToken) =>
      update(runId, 'clear its waiting token', (e) => {
        e.where(e.eq(['waiting', 'taskToken'], taskToken));
        e.remove(['waiting']);
      }),

    async holdLock(runId, key, held) {
      try {
        return await update(runId, `record lock ${key}`, (e) => {
          // The wait for this very lock ends with it; a run waits for one thing at a time.
          e.where(e.or(e.notExists(['waiting']), e.eq(['waiting', 'lock'], key)));
          e.set(['locks', key], held).remove(['waiting']);
        });
      } catch (error) {
        if (!(error instanceof ConditionFailedError) || !error.current) throw error;
        return update(runId, `record lock ${key}`, (e) => {
          e.set(['locks', key], held);
        });
      }
    },

    dropLock: (runId, key, fence) =>
      update(runId, `drop lock ${key}`, (e) => {
        if (fence !== undefined)
          e.where(e.or(e.notExists(['locks', key]), e.eq(['locks', key, 'fence'], fence)));
        e.remove(['locks', key]);
      }),

    requestStop: (runId, { status, record, expectedVersion }) =>
      update(runId, 'stop', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.set(['status'], status).set(['stop'], record);
      }),

    enterFinal: (runId, { outcome, notRun, expectedVersion }) =>
      update(runId, 'enter the final path', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        if (outcome) e.setIfAbsent(['outcome'], outcome);
        for (const step of notRun) e.set(stepPath(step, 'status'), 'NOT_RUN');
        e.set(['phase'], 'final').remove(['waiting']);
      }),

    finish: (runId, { status, reason, endedAt, expectedVersion }) =>
      update(runId, 'finish', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.set(['status'], status).set(['reason'], reason).set(['endedAt'], endedAt).set(['phase'], 'done');
        e.set(['locks'], {}).remove(['waiting']);
      }),

    setEngine: (runId, engine) =>
      update(runId, 'record its engine', (e) => {
        e.set(['engine'], engine);
      }),

    renewEngineLease: (runId, instance, leaseUntil) =>
      update(runId, 'renew its engine lease', (e) => {
        e.where(e.eq(['engine', 'instance'], instance));
        e.where(e.not(e.in(['status'], TERMINAL_RUN_STATUSES)));
        e.set(['engine', 'leaseUntil'], leaseUntil);
      }),

    recordAbandoned: (runId, { outcome, erroredSteps, endedAt, note, expectedVersion }) =>
      update(runId, 'record it as abandoned', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.where(e.not(e.in(['status'], TERMINAL_RUN_STATUSES)));
        e.set(['outcome'], outcome).append(['notes'], [note]);
        for (const step of erroredSteps) {
          e.set(stepPath(step, 'status'), 'ERROR').set(stepPath(step, 'endedAt'), endedAt);
        }
        e.remove(['waiting']);
      }),

    claimOrphan: (runId, { engine, now, erroredSteps, endedAt, note, expectedVersion }) =>
      update(runId, 'claim it as an orphan', (e) => {
        e.where(e.eq(['version'], expectedVersion));
        e.where(e.lt(['engine', 'leaseUntil'], now));
        e.where(e.not(e.in(['status'], TERMINAL_RUN_STATUSES)));
        e.set(['engine'], engine).append(['notes'], [note]);
        e.set(['outcome'], { status: 'ERROR', reason: 'orphaned' });
        for (const step of erroredSteps) {
          e.set(stepPath(step, 'status'), 'ERROR').set(stepPath(step, 'endedAt'), endedAt);
        }
      }),
  };
}

function toRecord(item: Item): RunRecord {
  const { expiresAt: _expiresAt, ...record } = item;
  return record;
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (key && typeof key === 'object' && !Array.isArray(key)) return key;
  } catch {
    // fall through
  }
  throw new UsageError(`Invalid page cursor: ${cursor}`);
}
