// An image with nothing but busybox (Alpine): setsid is busybox's, and env cannot reset the SIGINT
// that sh leaves ignored in background commands.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SUPERVISOR_EXIT } from '../../supervisor/contract';
import { alpineVariant, pidIn, removeTemporaryDirs, runStep, survivors, waitForFile } from './helpers';

const ALPINE = alpineVariant();

afterAll(removeTemporaryDirs);

describe.concurrent('the step supervisor with busybox alone on PATH', () => {
  test('runs a step, without bash, through to the after-script', async () => {
    const run = await runStep(ALPINE, {
      script: ['echo "$0"', 'exit 2'],
      afterScript: ['echo "after saw $BITBUCKET_EXIT_CODE"'],
    });
    expect(run.stdout).toBe(
      `+ echo "$0"\n${join(run.dir, 'script.sh')}\n+ exit 2\n+ echo "after saw $BITBUCKET_EXIT_CODE"\nafter saw 2\n`,
    );
    expect(run.exit.code).toBe(2);
  });

  test('a graceful SIGTERM stop reaches the trapping script and its background processes', async () => {
    const run = await runStep(
      ALPINE,
      {
        script: [
          `trap 'echo cleaned > "$BITBUCKET_CLONE_DIR/cleanup"; exit 6' TERM`,
          'sleep 300 & echo $! > "$BITBUCKET_CLONE_DIR/background.pid"',
          'echo ready > "$BITBUCKET_CLONE_DIR/ready"',
          // Short sleeps: one caught between fork and exec swallows its copy of the signal, and the
          // stop then waits for it — only until it ends by itself, not for the whole grace.
          'while :; do sleep 0.05; done',
        ],
        stop: { graceSeconds: 20 },
      },
      async ({ work, stop }) => {
        await waitForFile(join(work, 'ready'));
        stop('graceful');
      },
    );
    expect(run.exit.code).toBe(SUPERVISOR_EXIT.stopped);
    expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 6, stop: 'graceful' });
    expect(readFileSync(join(run.work, 'cleanup'), 'utf8')).toBe('cleaned\n');
    expect(await survivors([pidIn(join(run.work, 'background.pid'))], run.scriptPgid!)).toEqual([]);
  });

  test('stop signal INT: says that shell traps cannot see it, sends it once, kills after the grace', async () => {
    const run = await runStep(
      ALPINE,
      {
        script: [
          `trap 'echo INT >> "$BITBUCKET_CLONE_DIR/signals"' INT`,
          'echo ready > "$BITBUCKET_CLONE_DIR/ready"',
          'sleep 30',
        ],
        stop: { signal: 'INT', graceSeconds: 0.5 },
      },
      async ({ work, stop }) => {
        await waitForFile(join(work, 'ready'));
        stop('graceful');
      },
    );
    expect(run.stderr).toContain(
      'finale: warning: this image can only start the script with SIGINT ignored (no job control in sh, no GNU env)',
    );
    expect(run.stderr).toContain('sent SIGINT');
    expect(run.stderr).toContain('grace period over');
    expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 137, stop: 'graceful' });
  });

  test('max-time, with busybox sleep and date', async () => {
    const run = await runStep(ALPINE, { script: ['sleep 30'], maxTime: 0.3, stop: { graceSeconds: 0.3 } });
    expect(run.exit.code).toBe(SUPERVISOR_EXIT.timedOut);
    expect(run.exit.status).toEqual({ outcome: 'timed-out', exitCode: 143, stop: 'timeout' });
  });
});
