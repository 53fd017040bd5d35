// One server per database. The lock is a LevelDB database of its own, held open while the server
// lives: LevelDB locks it with fcntl, which the kernel releases when the process dies, however it
// dies — so a crashed server never leaves a stale lock, and a second server can never open the
// store while the first still runs (dynalite itself would only crash on the second open).

import { ClassicLevel } from 'classic-level';
import { FinaleError } from '../vocabulary/errors';
import type { FinalePaths } from './paths';

export class DatabaseLockedError extends FinaleError {}

interface DatabaseLock {
  release(): Promise<void>;
}

export async function lockDatabase(paths: FinalePaths): Promise<DatabaseLock> {
  const lock = new ClassicLevel(`${paths.home}/server.lock`);
  try {
    await lock.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new DatabaseLockedError(`another Finale server holds ${paths.db}`, { cause: error });
    }
    throw error;
  }
  return { release: () => lock.close() };
}
