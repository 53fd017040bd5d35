// One error family (Temporal's pattern): every boundary normalises what it catches into a FinaleError,
// and `name` is what the compiled state machine's Catch/Retry match.

export class FinaleError extends Error {
  /** Process exit code when this error ends a CLI command. */
  readonly exitCode: number;

  constructor(message: string, options: { name?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = options.name ?? 'FinaleError';
    this.exitCode = options.exitCode ?? 1;
  }
}

/** The command line was wrong, or an input could not be read: exit 2. */
export class UsageError extends FinaleError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, name: 'UsageError', exitCode: 2 });
  }
}
