import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { startSupervisor } from '../../supervisor/start';
import { processesInGroup, removeTemporaryDirs, temporaryDir, waitForFile } from './helpers';

function groupOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

afterAll(removeTemporaryDirs);

afterEach(() => {
  delete process.env.FINALE_MAX_TIME;
});

describe('startSupervisor', () => {
  test('leads its own process group; the script runs in another one', async () => {
    const dir = temporaryDir('start');
    const supervisor = await startSupervisor({
      dir,
      cwd: dir,
      script: ['echo ready > ready', 'sleep 30'],
      stop: { graceSeconds: 5 },
    });
    await waitForFile(join(dir, 'ready'));
    expect(supervisor.pgid).toBe(supervisor.pid);
    expect(groupOf(supervisor.pid)).toBe(supervisor.pid);
    const scriptPgid = await supervisor.scriptPgid();
    expect(scriptPgid).not.toBeNull();
    expect(scriptPgid).not.toBe(supervisor.pid);
    expect(processesInGroup(scriptPgid!).length).toBeGreaterThan(0);
    expect(supervisor.stop('graceful')).toBe(true);
    const exit = await supervisor.exited;
    expect(exit.outcome).toBe('stopped');
    expect(supervisor.stop('immediate')).toBe(false);
  });

  test('by default runs the script with bash where there is one, as Bitbucket does, and ignores FINALE_ settings of its own environment', async () => {
    process.env.FINALE_MAX_TIME = '0.1';
    const dir = temporaryDir('start');
    const log = join(dir, 'log');
    const fd = openSync(log, 'w');
    const supervisor = await startSupervisor({
      dir,
      cwd: dir,
      script: ['sleep 0.5', 'echo "bash $BASH_VERSION"'],
      output: fd,
    });
    closeSync(fd);
    const exit = await supervisor.exited;
    expect(exit).toMatchObject({ code: 0, outcome: 'succeeded' });
    expect(readFileSync(log, 'utf8')).toMatch(/^bash \d+\.\d+/m);
    expect(supervisor.stdout).toBeNull();
  });

  test('outlives a log reader that went away', async () => {
    const dir = temporaryDir('start');
    const supervisor = await startSupervisor({
      dir,
      cwd: dir,
      script: ['echo ready > ready', 'sleep 0.5'],
      afterScript: ['exit 3'],
    });
    await waitForFile(join(dir, 'ready'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Closing the pipes' read ends: the after-script dies of SIGPIPE on its first echo line, and the
    // supervisor's message about that hits EPIPE.
    supervisor.stdout?.destroy();
    supervisor.stderr?.destroy();
    const exit = await supervisor.exited;
    expect(exit).toMatchObject({ code: 0, signal: null, outcome: 'succeeded' });
  });

  test('with secured values, a masking process writes the log; a leftover holding the pipe does not hold up the end', async () => {
    const dir = temporaryDir('masked');
    const log = join(dir, 'step.log');
    const fd = openSync(log, 'w');
    const started = Date.now();
    const supervisor = await startSupervisor({
      dir,
      cwd: dir,
      // Uncontained, a background process keeps the step's stdout open after the script ends.
      // setsid and an empty environment: out of the script's group and unknown to the supervisor's
      // search for the step's processes (FINALE_DIR), as a daemon that cleans its environment is.
      script: [
        'echo "token $TOKEN"',
        `setsid env -i TOKEN="$TOKEN" sh -c 'echo up > "$0"; sleep 1; echo "late $TOKEN"; exec sleep 31' "$PWD/up" &`,
        // The script ends only once the leftover runs with its clean environment.
        'while [ ! -e up ]; do sleep 0.02; done',
      ],
      env: { PATH: process.env.PATH ?? '', TOKEN: 'tok-abcdef123' },
      output: fd,
      mask: [{ name: 'TOKEN', value: 'tok-abcdef123' }],
    });
    closeSync(fd);
    const exit = await supervisor.exited;
    expect(exit.outcome).toBe('succeeded');
    // Ended within the drain time, not after the leftover's 30 s.
    expect(Date.now() - started).toBeLessThan(10_000);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('token $TOKEN\n');
    // What the leftover printed after the end is masked too: the masker lives on with it.
    expect(text).toContain('late $TOKEN\n');
    expect(text).not.toContain('tok-abcdef123');
    execFileSync('pkill', ['-f', '^sleep 31$']);
  });
});
