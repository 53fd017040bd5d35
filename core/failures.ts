// The core's errors. Control actions throw ControlError, whose `name` is what the compiled state
// machine's Catch/Retry match; the user-facing operations throw errors whose exit code the CLI uses
// (and the API maps to an HTTP status): 3 refused, 4 no such run or it has finished.

import { FinaleError } from '../vocabulary/errors';

/** Thrown by a control action; `name` is one of ERROR_NAMES. */
export class ControlError extends FinaleError {
  constructor(name: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, name });
  }
}

/** The caller may not do this (policy, permissions): exit 3. The message says who may. */
export class NotAllowedError extends FinaleError {
  constructor(message: string) {
    super(message, { name: 'NotAllowed', exitCode: 3 });
  }
}

/** No such run, lock or waiting approval: exit 4. */
export class NotFoundError extends FinaleError {
  constructor(message: string) {
    super(message, { name: 'NotFound', exitCode: 4 });
  }
}

/** The run has finished, or is not in a state where this applies: exit 4. */
export class RunStateError extends FinaleError {
  constructor(message: string) {
    super(message, { name: 'RunState', exitCode: 4 });
  }
}

/** A setting name or value is invalid: exit 2, naming the setting. */
export class InvalidSettingError extends FinaleError {
  constructor(message: string) {
    super(message, { name: 'InvalidSetting', exitCode: 2 });
  }
}

/** Optimistic concurrency gave up after its bounded retries (heavy contention on one item). */
export class ContentionError extends FinaleError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, name: 'Contention' });
  }
}

/** A variable's name or value is refused, or its deployment environment is unknown: exit 2, naming it. */
export class InvalidVariableError extends FinaleError {
  constructor(message: string) {
    super(message, { name: 'InvalidVariable', exitCode: 2 });
  }
}
