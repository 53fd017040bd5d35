// Errors of the data-access module. A failed condition is an expected outcome of optimistic
// concurrency, so it is a typed error the core can catch, carrying the item as it is now.

import { FinaleError } from '../vocabulary/errors';
import type { LockRecord, RunRecord } from './records';

/** A conditional write found the item in another state (or absent). */
export class ConditionFailedError<T = unknown> extends FinaleError {
  /**
   * The item as re-read after the failure (undefined when it does not exist). DynamoDB can return it
   * with the failure, but dynalite ignores ReturnValuesOnConditionCheckFailure, so it is read again.
   */
  readonly current: T | undefined;

  constructor(message: string, current: T | undefined, options: { cause?: unknown } = {}) {
    super(message, { ...options, name: 'ConditionFailed' });
    this.current = current;
  }
}

/** A conditional write of a run found it in another state; `current` is the run as it is now. */
export class RunConflictError extends ConditionFailedError<RunRecord> {}

/** A conditional write of a lock found it in another state; `current` is the lock as it is now. */
export class LockConflictError extends ConditionFailedError<LockRecord> {}

export function isConditionalCheckFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
