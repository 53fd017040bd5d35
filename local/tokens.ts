// The embedded engine's stand-in for Step Functions' task tokens. A `.waitForTaskToken` state parks
// until the core calls sendTaskSuccess/Failure with its token — from the same control call (a lock
// acquired at once) or much later (an approval, a lock handover, a stop).

import { randomBytes } from 'node:crypto';
import type { Orchestrator } from '../vocabulary/contract';

/** The error a failed token raises in the waiting state; `name` is what Catch matches. */
class TaskTokenFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

interface Pending {
  readonly promise: Promise<unknown>;
  readonly resolve: (output: unknown) => void;
  readonly reject: (error: Error) => void;
}

export class TaskTokens implements Orchestrator {
  private readonly pending = new Map<string, Pending>();

  /** A new token, already able to receive its result before anyone waits on it. */
  issue(): string {
    const token = randomBytes(24).toString('base64url');
    let resolve!: Pending['resolve'];
    let reject!: Pending['reject'];
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A token settled while nobody awaits it yet must not count as an unhandled rejection.
    promise.catch(() => undefined);
    this.pending.set(token, { promise, resolve, reject });
    return token;
  }

  /** Settles when the token succeeds or fails. */
  wait(token: string): Promise<unknown> {
    const entry = this.pending.get(token);
    if (!entry) return Promise.reject(new Error(`unknown task token ${token.slice(0, 8)}…`));
    return entry.promise;
  }

  /** The waiting state timed out or ended: later calls answer 'gone', like TaskTimedOut on AWS. */
  expire(token: string): void {
    this.pending.delete(token);
  }

  has(token: string): boolean {
    return this.pending.has(token);
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<'ok' | 'gone'> {
    const entry = this.pending.get(token);
    if (!entry) return 'gone';
    this.pending.delete(token);
    entry.resolve(output);
    return 'ok';
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<'ok' | 'gone'> {
    const entry = this.pending.get(token);
    if (!entry) return 'gone';
    this.pending.delete(token);
    entry.reject(new TaskTokenFailure(error, cause));
    return 'ok';
  }
}
