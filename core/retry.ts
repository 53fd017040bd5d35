// Bounded retries with jitter for read-modify-write cycles that lose a version race.

import { ConditionFailedError } from '../store/errors';
import { ContentionError } from './failures';

interface RetryOptions {
  /** @default 60 */
  readonly attempts?: number;
  /** Upper bound of the first backoff, doubled per attempt up to maxDelayMs. @default 4 */
  readonly baseDelayMs?: number;
  /** @default 100 */
  readonly maxDelayMs?: number;
}

/**
 * Runs `attempt` again (after a random "full jitter" pause) whenever it throws ConditionFailedError;
 * any other error goes through. `what` names the operation when retries run out.
 */
export async function retryOnConflict<T>(
  what: string,
  attempt: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 60;
  const base = options.baseDelayMs ?? 4;
  const max = options.maxDelayMs ?? 100;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      last = error;
      const ceiling = Math.min(max, base * 2 ** Math.min(i, 10));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
  throw new ContentionError(`${what}: gave up after ${attempts} conflicting writes`, { cause: last });
}
