// The processes of a step, wherever they went: every process a step starts inherits its
// environment, so a mark put there (STEP_MARK=<uuid>) finds them all from outside — through a
// setsid, a double fork or a PID namespace of their own, where the pids they know are not ours.

import { readdirSync, readFileSync } from 'node:fs';

/** Live processes with an environment variable that `matches`. */
function processesWhere(matches: (variable: string) => boolean): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').some(matches)) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/** Live processes whose environment holds STEP_MARK=`mark`. */
export function processesMarked(mark: string): number[] {
  return processesWhere((variable) => variable === `STEP_MARK=${mark}`);
}

/**
 * Live step processes of the embedded engine in `root`: the supervisor passes its FINALE_DIR (under
 * `<root>/.finale/runs/`) on to everything a step starts — and the CLI and the server have none.
 */
export function stepProcessesIn(root: string): number[] {
  return processesWhere((variable) => variable.startsWith(`FINALE_DIR=${root}/.finale/runs/`));
}

/** Waits until `find` finds nothing (a killed process takes a moment to go); returns what is left. */
export async function leftAlive(find: () => number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const living = find();
    if (living.length === 0 || Date.now() > deadline) return living;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
