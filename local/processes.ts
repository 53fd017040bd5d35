import { readFileSync } from 'node:fs';

// Whether a process exists: signal 0 asks without sending anything. EPERM means it exists but belongs
// to someone else. A zombie answers signal 0 too, yet it has exited: where nothing reaps orphans (a
// container's PID 1 that is not an init, this sandbox's), a server killed with -9 stays one, and must
// not count as running.
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // No /proc (not Linux): signal 0 is all there is to ask. Gone meanwhile: not a zombie either.
    return false;
  }
  // The state follows the command name, which is in parentheses and may itself hold ") ".
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}
