// Deployment and concurrency locks: a lease lock with a fencing token and a FIFO handover
// (docs/architecture.md, "Locks"). Every change is a read plus one write conditioned on the version
// read, retried with jitter when another writer got there first; taking a lock also checks in the
// condition that the previous holder's lease has ended.

import { ConditionFailedError } from '../store/errors';
import type { LockRecord, LockWaiter } from '../store/records';
import type { AcquireResult, Caller } from '../vocabulary/contract';
import type { CoreDeps } from './deps';
import { NotAllowedError, NotFoundError } from './failures';
import { checkForceUnlock } from './policy';
import { retryOnConflict } from './retry';

interface LockRequest {
  readonly repository: string;
  /** `deployment:<env>` or `concurrency:<group>`. */
  readonly key: string;
  readonly runId: string;
  readonly step: number;
  readonly leaseSeconds: number;
  /** Resumed with SendTaskSuccess `{ fence }` once the run holds the lock. */
  readonly taskToken: string;
}

interface HandoverResult {
  /** Whether the expected holder (or an expired lease) was found and the lock moved on. */
  readonly released: boolean;
  /** The waiter that now holds the lock and was resumed. */
  readonly handedTo?: { readonly runId: string; readonly fence: number };
  /** Waiters skipped because their task token was gone. */
  readonly skipped: readonly string[];
}

/** Who the lock must be held by for a handover to proceed. */
type Expected =
  | { readonly kind: 'holder'; readonly runId: string; readonly fence?: number; readonly taskToken?: string }
  | { readonly kind: 'expired' };

type Writable = Omit<LockRecord, 'lockKey' | 'version'>;

const MAX_HANDOVER_HOPS = 1000;

function emptyLock(repository: string, key: string): LockRecord {
  return { lockKey: '', repository, key, fence: 0, waiters: [], version: 0 };
}

function writable(lock: LockRecord, change: Partial<Writable>): Writable {
  const { lockKey: _lockKey, version: _version, ...rest } = lock;
  return { ...rest, ...change };
}

function leaseExpired(lock: LockRecord, now: number): boolean {
  return !lock.holder || lock.holder.leaseUntil < now;
}

/**
 * Takes the lock if it is free (or its lease expired) and no one is queued ahead, and resumes the
 * caller's own token at once; otherwise queues the caller (once per run: a re-call refreshes its token).
 * A re-call by the holder refreshes its lease and resumes the new token.
 */
export async function acquireLock(request: LockRequest, deps: CoreDeps): Promise<AcquireResult> {
  const { store, clock } = deps;
  const { repository, key, runId, step, leaseSeconds, taskToken } = request;
  for (let round = 0; round < MAX_HANDOVER_HOPS; round++) {
    const decision = await retryOnConflict(`Acquire lock ${key} of ${repository}`, async () => {
      const lock = (await store.locks.get(repository, key)) ?? emptyLock(repository, key);
      const now = clock.now();
      const leaseUntil = now + leaseSeconds * 1000;
      const mine = lock.waiters.findIndex((waiter) => waiter.runId === runId);
      const othersWaiting = lock.waiters.filter((waiter) => waiter.runId !== runId);
      if (lock.holder?.runId === runId) {
        const holder = { ...lock.holder, leaseUntil, taskToken };
        await store.locks.write(writable(lock, { holder, waiters: othersWaiting }), {
          expectedVersion: lock.version,
        });
        return { kind: 'held', fence: holder.fence, since: holder.since } as const;
      }
      if (leaseExpired(lock, now)) {
        if (lock.waiters.length === 0 || mine === 0) {
          const fence = lock.fence + 1;
          const holder = { runId, step, fence, since: now, leaseUntil, taskToken };
          await store.locks.write(writable(lock, { holder, fence, waiters: othersWaiting }), {
            expectedVersion: lock.version,
            leaseExpiredBefore: now,
          });
          return { kind: 'held', fence, since: now } as const;
        }
        // Someone is queued ahead: the lock goes to the head first (skipping dead waiters).
        return { kind: 'handover' } as const;
      }
      const waiter: LockWaiter = {
        runId,
        step,
        taskToken,
        leaseSeconds,
        since: mine >= 0 ? lock.waiters[mine]!.since : now,
      };
      if (mine >= 0) {
        const current = lock.waiters[mine]!;
        if (
          current.taskToken !== taskToken ||
          current.leaseSeconds !== leaseSeconds ||
          current.step !== step
        ) {
          const waiters = lock.waiters.map((entry, index) => (index === mine ? waiter : entry));
          await store.locks.write(writable(lock, { waiters }), { expectedVersion: lock.version });
        }
        return { kind: 'queued', position: mine + 1 } as const;
      }
      await store.locks.write(writable(lock, { waiters: [...lock.waiters, waiter] }), {
        expectedVersion: lock.version,
      });
      return { kind: 'queued', position: lock.waiters.length + 1 } as const;
    });
    if (decision.kind === 'handover') {
      await handOver(repository, key, { kind: 'expired' }, deps);
      continue;
    }
    if (decision.kind === 'queued') return { state: 'queued', position: decision.position };
    await recordHeld(runId, key, decision.fence, decision.since, deps);
    await deps.orchestrator.sendTaskSuccess(taskToken, { fence: decision.fence });
    return { state: 'held', fence: decision.fence };
  }
  throw new Error(`Acquire lock ${key} of ${repository}: the queue kept changing`);
}

/**
 * Releases a lock held by the run (with that fence, when given) and hands it to the next live
 * waiter. Releasing a lock the run does not hold (any more) is a no-op: release is idempotent.
 */
export async function releaseLock(
  request: {
    readonly repository: string;
    readonly key: string;
    readonly runId: string;
    readonly fence?: number;
  },
  deps: CoreDeps,
): Promise<HandoverResult> {
  const { repository, key, runId, fence } = request;
  const result = await handOver(
    repository,
    key,
    { kind: 'holder', runId, ...(fence !== undefined ? { fence } : {}) },
    deps,
  );
  await ignoreMissing(deps.store.runs.dropLock(runId, key, fence));
  return result;
}

/**
 * Removes the run from the lock's queue (a stopped or finished run) and returns the entries removed,
 * whose tokens the caller fails. Never releases a held lock.
 */
export async function leaveLockQueue(
  request: { readonly repository: string; readonly key: string; readonly runId: string },
  deps: CoreDeps,
): Promise<LockWaiter[]> {
  const { repository, key, runId } = request;
  return retryOnConflict(`Leave the queue of lock ${key}`, async () => {
    const lock = await deps.store.locks.get(repository, key);
    const removed = lock?.waiters.filter((waiter) => waiter.runId === runId) ?? [];
    if (!lock || removed.length === 0) return [];
    const waiters = lock.waiters.filter((waiter) => waiter.runId !== runId);
    await deps.store.locks.write(writable(lock, { waiters }), { expectedVersion: lock.version });
    return removed;
  });
}

/**
 * An admin takes a lock away from its holder (a run that will never release it), audited. The lock
 * goes to the next waiter; the old holder's later release is a no-op, and its fencing token is stale.
 */
export async function forceUnlock(
  request: {
    readonly repository: string;
    readonly key: string;
    readonly caller: Caller;
    readonly reason?: string;
  },
  deps: CoreDeps,
): Promise<
  HandoverResult & {
    readonly holder: NonNullable<LockRecord['holder']>;
    /** Whether the step that held it was told in its log. */
    readonly told: boolean;
  }
> {
  const { repository, key, caller } = request;
  const permission = checkForceUnlock(caller, await deps.store.settings.get(repository));
  if (!permission.ok) throw new NotAllowedError(permission.message);
  const lock = await deps.store.locks.get(repository, key);
  if (!lock?.holder) throw new NotFoundError(`Lock ${key} of ${repository} is not held by any run`);
  const holder = lock.holder;
  const result = await handOver(
    repository,
    key,
    { kind: 'holder', runId: holder.runId, fence: holder.fence },
    deps,
  );
  if (!result.released)
    throw new NotFoundError(`Lock ${key} of ${repository} changed hands meanwhile; look again`);
  await ignoreMissing(deps.store.runs.dropLock(holder.runId, key, holder.fence));
  const told = await tellHolder(holder, key, request, deps);
  await deps.store.audit.append({
    repository,
    at: deps.clock.now(),
    by: caller.user,
    action: 'unlock',
    runId: holder.runId,
    detail: {
      key,
      fence: holder.fence,
      ...(request.reason ? { reason: request.reason } : {}),
      ...(result.handedTo ? { handedTo: result.handedTo.runId } : {}),
    },
  });
  return { ...result, holder, told };
}

/**
 * The run that held a lock taken from it learns it twice: a note on its record, and a line in the
 * log of the step that held it, if that step still runs — its fencing token is stale from now on.
 * Returns whether the step was told (false: it had ended, or its log could not be written).
 */
async function tellHolder(
  holder: NonNullable<LockRecord['holder']>,
  key: string,
  request: { readonly caller: Caller; readonly reason?: string },
  deps: CoreDeps,
): Promise<boolean> {
  const at = deps.clock.now();
  const text = `Lock ${key} (fence ${holder.fence}) was force-unlocked by ${request.caller.user} at ${new Date(at).toISOString()}${request.reason ? ` (${request.reason})` : ''}: another run may take it now`;
  const run = await deps.store.runs.addNote(holder.runId, { at, text }).catch((error) => {
    if (error instanceof ConditionFailedError) return undefined;
    throw error;
  });
  const step = run?.steps[String(holder.step)];
  if (step?.status !== 'RUNNING') return false;
  try {
    await deps.tasks.tell(
      { runId: holder.runId, step: holder.step, ...(step.taskId ? { taskId: step.taskId } : {}) },
      `${text}; this step no longer holds it`,
    );
    return true;
  } catch {
    // The unlock stands either way; the note on the run record says it, and the answer says the log could not.
    return false;
  }
}

/** What `finale locks` shows: no task tokens. */
export interface LockView {
  readonly repository: string;
  readonly key: string;
  readonly fence: number;
  readonly holder?: {
    readonly runId: string;
    readonly step: number;
    readonly fence: number;
    readonly since: number;
    readonly leaseUntil: number;
    readonly expired: boolean;
  };
  readonly waiters: readonly { readonly runId: string; readonly step: number; readonly since: number }[];
}

export async function listLocks(repository: string | undefined, deps: CoreDeps): Promise<LockView[]> {
  const now = deps.clock.now();
  const locks = await deps.store.locks.list(repository);
  return locks.map((lock) => ({
    repository: lock.repository,
    key: lock.key,
    fence: lock.fence,
    ...(lock.holder
      ? {
          holder: {
            runId: lock.holder.runId,
            step: lock.holder.step,
            fence: lock.holder.fence,
            since: lock.holder.since,
            leaseUntil: lock.holder.leaseUntil,
            expired: lock.holder.leaseUntil < now,
          },
        }
      : {}),
    waiters: lock.waiters.map(({ runId, step, since }) => ({ runId, step, since })),
  }));
}

/**
 * Moves the lock from the expected holder (or an expired lease) to the head waiter, whose run then
 * records it and whose token is resumed with `{ fence }`. A waiter whose token is gone (its
 * execution or wait state ended) is skipped: the lock moves on to the next, unless that waiter
 * re-called acquire with a fresh token meanwhile.
 */
async function handOver(
  repository: string,
  key: string,
  from: Expected,
  deps: CoreDeps,
): Promise<HandoverResult> {
  const { store, clock, orchestrator } = deps;
  const skipped: string[] = [];
  let expected = from;
  /** A waiter found gone, skipped only if the lock is still as it was handed to it. */
  let goneWaiter: { runId: string; fence: number } | undefined;
  for (let hop = 0; hop < MAX_HANDOVER_HOPS; hop++) {
    const step = await retryOnConflict(`Hand over lock ${key} of ${repository}`, async () => {
      const lock = await store.locks.get(repository, key);
      const now = clock.now();
      if (!lock || !matches(lock, expected, now)) return { kind: 'unchanged' } as const;
      const guard = {
        expectedVersion: lock.version,
        ...(expected.kind === 'expired' ? { leaseExpiredBefore: now } : {}),
      };
      const [head, ...rest] = lock.waiters;
      if (!head) {
        await store.locks.write(writable(lock, { holder: undefined, waiters: [] }), guard);
        return { kind: 'released' } as const;
      }
      const fence = lock.fence + 1;
      const holder = {
        runId: head.runId,
        step: head.step,
        fence,
        since: now,
        leaseUntil: now + head.leaseSeconds * 1000,
        taskToken: head.taskToken,
      };
      await store.locks.write(writable(lock, { holder, fence, waiters: rest }), guard);
      return { kind: 'handed', head, fence, since: now } as const;
    });
    if (step.kind === 'unchanged') return { released: hop > 0, skipped };
    if (goneWaiter) {
      skipped.push(goneWaiter.runId);
      await ignoreMissing(store.runs.dropLock(goneWaiter.runId, key, goneWaiter.fence));
      goneWaiter = undefined;
    }
    if (step.kind === 'released') return { released: true, skipped };
    const { head, fence, since } = step;
    await recordHeld(head.runId, key, fence, since, deps);
    if ((await orchestrator.sendTaskSuccess(head.taskToken, { fence })) === 'ok') {
      return { released: true, handedTo: { runId: head.runId, fence }, skipped };
    }
    goneWaiter = { runId: head.runId, fence };
    expected = { kind: 'holder', runId: head.runId, fence, taskToken: head.taskToken };
  }
  throw new Error(`Hand over lock ${key} of ${repository}: too many waiters were gone`);
}

function matches(lock: LockRecord, expected: Expected, now: number): boolean {
  if (expected.kind === 'expired') return leaseExpired(lock, now);
  const holder = lock.holder;
  return (
    holder?.runId === expected.runId &&
    (expected.fence === undefined || holder.fence === expected.fence) &&
    (expected.taskToken === undefined || holder.taskToken === expected.taskToken)
  );
}

/** The run's `locks` map mirrors the lock items for display and cleanup; the lock item is the truth. */
async function recordHeld(
  runId: string,
  key: string,
  fence: number,
  since: number,
  deps: CoreDeps,
): Promise<void> {
  await ignoreMissing(deps.store.runs.holdLock(runId, key, { fence, since }));
}

/** Run-record bookkeeping tolerates a run that no longer exists (or a lock entry already gone). */
async function ignoreMissing(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'ConditionFailed') throw error;
  }
}
