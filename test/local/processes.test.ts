import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../local/processes';
import { until } from './harness';

describe('isAlive', () => {
  it('is true for a running process and false for one that exited, zombie or reaped', async () => {
    expect(isAlive(process.pid)).toBe(true);
    // `true` exits at once; its parent execs `sleep`, which never reaps it: a zombie, as a server
    // killed with -9 stays where PID 1 reaps no orphans.
    const parent = spawn('sh', ['-c', 'true & echo $!; exec sleep 5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = await new Promise<number>((resolve) =>
      parent.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim()))),
    );
    await until('the child is a zombie', async () =>
      readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '),
    );
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    expect(isAlive(pid)).toBe(false);
    expect(isAlive(parent.pid!)).toBe(true);
    parent.kill('SIGKILL');
    await new Promise((resolve) => parent.once('exit', resolve));
    expect(isAlive(parent.pid!)).toBe(false);
  });
});
