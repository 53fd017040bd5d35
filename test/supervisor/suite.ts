// The supervisor's behaviour, run for real (processes, signals, files) under one shell variant.
// dash.test.ts, busybox.test.ts and bash.test.ts each run it, in parallel with each other.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SUPERVISOR_EXIT } from '../../supervisor/contract';
import {
  pidIn,
  removeTemporaryDirs,
  runStep,
  type ShellVariant,
  sleep,
  survivors,
  waitForFile,
} from './helpers';

/** Short graces keep the suite fast; long enough that a 2-core machine under load keeps up. */
const GRACE = 0.6;

/** The after-script records what it was told. */
const RECORD_EXIT_CODE = ['echo "$BITBUCKET_EXIT_CODE" > "$BITBUCKET_CLONE_DIR/after-saw"'];

function afterSaw(work: string): string | null {
  const path = join(work, 'after-saw');
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : null;
}

/** Items that set a trap on `signal` which logs one line per delivery, then idle until stopped. */
function countingScript(signal: 'TERM' | 'INT'): string[] {
  return [
    `trap 'echo ${signal} >> "$BITBUCKET_CLONE_DIR/signals"' ${signal}`,
    'echo ready > "$BITBUCKET_CLONE_DIR/ready"',
    // Each delivery also ends the current sleep (it is in the same group); the loop goes on.
    'while :; do sleep 0.05 || true; done',
  ];
}

export function supervisorSuite(variant: ShellVariant): void {
  afterAll(removeTemporaryDirs);

  // One retry: under the whole suite's load (moto servers, real runs beside it), a bash run with
  // repeated stop signals has twice hung until the timeout (2026-12-03), never when this file runs
  // alone, with or without CPU load. Not yet traced; a second hang in a row still fails the test.
  describe.concurrent(`the step supervisor under ${variant.name}`, { retry: 1 }, () => {
    test('runs the items as one program: set -e, + echo lines, if/fi and && across items, exports', async () => {
      const run = await runStep(variant, {
        script: [
          'echo one',
          'if [ -n "$BITBUCKET_CLONE_DIR" ]; then',
          'echo inside',
          'fi',
          'export GREETING=hello',
          'echo "$GREETING world"',
          'true &&',
          'echo continued',
          'printf "%s\\n" "multi" \\\n  "line"',
          'false',
          'echo never',
        ],
      });
      expect(run.stdout).toBe(
        [
          '+ echo one',
          'one',
          '+ if [ -n "$BITBUCKET_CLONE_DIR" ]; then',
          '+ echo inside',
          '+ fi',
          'inside',
          '+ export GREETING=hello',
          '+ echo "$GREETING world"',
          'hello world',
          '+ true &&',
          '+ echo continued',
          'continued',
          '+ printf "%s\\n" "multi" \\',
          '  "line"',
          'multi',
          'line',
          '+ false',
          '',
        ].join('\n'),
      );
      expect(run.exit.code).toBe(1);
      expect(run.exit.status).toEqual({ outcome: 'failed', exitCode: 1, stop: 'none' });
    });

    test('a successful step: exit 0, the after-script sees 0, output variables, the clone dir', async () => {
      const run = await runStep(variant, {
        script: [
          'pwd > where',
          'echo "VERSION=1.2.3" >> "$BITBUCKET_PIPELINES_VARIABLES_PATH"',
          'read -r line || echo "stdin is empty"',
        ],
        afterScript: RECORD_EXIT_CODE,
      });
      expect(run.exit.code).toBe(0);
      expect(run.exit.status).toEqual({ outcome: 'succeeded', exitCode: 0, stop: 'none' });
      expect(run.exit.outputVariables).toEqual({ VERSION: '1.2.3' });
      expect(readFileSync(join(run.work, 'where'), 'utf8').trim()).toBe(run.work);
      expect(run.stdout).toContain('stdin is empty');
      expect(afterSaw(run.work)).toBe('0');
      expect(run.stderr).toBe('');
    });

    test("a failed step passes the script's code to the after-script, the exit status and the status file", async () => {
      const run = await runStep(variant, {
        script: ['echo before', 'exit 3'],
        afterScript: RECORD_EXIT_CODE,
      });
      expect(run.exit.code).toBe(3);
      expect(run.exit.outcome).toBe('failed');
      expect(run.exit.status).toEqual({ outcome: 'failed', exitCode: 3, stop: 'none' });
      expect(afterSaw(run.work)).toBe('3');
    });

    test('a script exiting with a reserved code is reported failed with 1; the status keeps the real code', async () => {
      const run = await runStep(variant, { script: [`exit ${SUPERVISOR_EXIT.timedOut}`] });
      expect(run.exit.code).toBe(1);
      expect(run.exit.status).toEqual({
        outcome: 'failed',
        exitCode: SUPERVISOR_EXIT.timedOut,
        stop: 'none',
      });
    });

    test("the after-script's failure does not change the step's result", async () => {
      const run = await runStep(variant, { script: ['true'], afterScript: ['echo cleaning', 'exit 9'] });
      expect(run.exit.code).toBe(0);
      expect(run.exit.status?.outcome).toBe('succeeded');
      expect(run.stdout).toContain('cleaning');
      expect(run.stderr).toContain('the after-script failed with exit code 9');
    });

    test('SIGTERM: one signal to the group, the trapping script cleans up, the after-script runs', async () => {
      const run = await runStep(
        variant,
        {
          script: [
            `trap 'echo cleaned > "$BITBUCKET_CLONE_DIR/cleanup"; exit 7' TERM`,
            'echo ready > "$BITBUCKET_CLONE_DIR/ready"',
            // Short sleeps: one caught between fork and exec swallows its copy of the signal, and the
            // stop then waits for it — only until it ends by itself, not for the whole grace.
            'while :; do sleep 0.05; done',
          ],
          afterScript: RECORD_EXIT_CODE,
          stop: { graceSeconds: 20 },
        },
        async ({ work, stop }) => {
          await waitForFile(join(work, 'ready'));
          stop('graceful');
        },
      );
      expect(run.exit.code).toBe(SUPERVISOR_EXIT.stopped);
      expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 7, stop: 'graceful' });
      expect(readFileSync(join(run.work, 'cleanup'), 'utf8')).toBe('cleaned\n');
      expect(afterSaw(run.work)).toBe('7');
      // The cleanup ended the step long before the 20 s grace.
      expect(run.msAfterStop).toBeLessThan(10_000);
      expect(run.stderr).toContain('stop requested: sent SIGTERM');
    });

    test('stop signal INT: a script that traps INT gets it and cleans up', async () => {
      const run = await runStep(
        variant,
        {
          script: [
            `trap 'echo "cleaned after INT" > "$BITBUCKET_CLONE_DIR/cleanup"; exit 5' INT`,
            'echo ready > "$BITBUCKET_CLONE_DIR/ready"',
            // Short sleeps: one caught between fork and exec swallows its copy of the signal, and the
            // stop then waits for it — only until it ends by itself, not for the whole grace.
            'while :; do sleep 0.05; done',
          ],
          afterScript: RECORD_EXIT_CODE,
          stop: { signal: 'INT', graceSeconds: 20 },
        },
        async ({ work, stop }) => {
          await waitForFile(join(work, 'ready'));
          stop('graceful');
        },
      );
      expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 5, stop: 'graceful' });
      expect(readFileSync(join(run.work, 'cleanup'), 'utf8')).toBe('cleaned after INT\n');
      expect(afterSaw(run.work)).toBe('5');
      expect(run.stderr).toContain('sent SIGINT');
      expect(run.stderr).not.toContain('warning');
    });

    test.each([
      'TERM',
      'INT',
    ] as const)('exactly one SIG%s reaches the script, however many stop requests arrive', async (signal) => {
      const run = await runStep(
        variant,
        { script: countingScript(signal), stop: { signal, graceSeconds: GRACE * 2 } },
        async ({ work, stop }) => {
          await waitForFile(join(work, 'ready'));
          stop('graceful');
          await sleep(150);
          stop('graceful');
          await sleep(150);
          stop('graceful');
        },
      );
      expect(readFileSync(join(run.work, 'signals'), 'utf8')).toBe(`${signal}\n`);
      // The trap kept the script alive: SIGKILL after the grace.
      expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 137, stop: 'graceful' });
      expect(run.stderr).toContain('sending nothing more');
      expect(run.stderr).toContain('grace period over');
    });

    test('a script that ignores SIGTERM is killed after the grace; the after-script sees 137', async () => {
      const run = await runStep(
        variant,
        {
          script: [`trap '' TERM`, 'echo ready > "$BITBUCKET_CLONE_DIR/ready"', 'sleep 30'],
          afterScript: RECORD_EXIT_CODE,
          stop: { graceSeconds: GRACE },
        },
        async ({ work, stop }) => {
          await waitForFile(join(work, 'ready'));
          stop('graceful');
        },
      );
      expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 137, stop: 'graceful' });
      expect(afterSaw(run.work)).toBe('137');
      // The kill came after the grace, not before (and not long after). The supervisor's clock
      // counts whole centiseconds (/proc/uptime), so its grace may end up to 10 ms early.
      expect(run.msAfterStop).toBeGreaterThanOrEqual(GRACE * 1000 - 10);
      expect(run.msAfterStop).toBeLessThan(GRACE * 1000 + 5_000);
    });

    test('without a grace period a stop kills at once, as Bitbucket does, and the after-script still runs', async () => {
      const run = await runStep(
        variant,
        {
          script: countingScript('TERM'),
          afterScript: RECORD_EXIT_CODE,
          stop: { graceSeconds: 0 },
        },
        async ({ work, stop }) => {
          await waitForFile(join(work, 'ready'));
          stop('graceful');
        },
      );
      expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 137, stop: 'graceful' });
      expect(existsSync(join(run.work, 'signals'))).toBe(false);
      expect(afterSaw(run.work)).toBe('137');
      expect(run.stderr).toContain("stop requested: killing the script's processes (no grace period)");
    });

    test('an untrapped SIGTERM ends the script with 143, which the after-script sees', async () => {
      const run = await runStep(
        variant,
        {
          script: ['echo ready > "$BITBUCKET_CLONE_DIR/ready"', 'sleep 30'],
          afterScript: RECORD_EXIT_CODE,
          stop: { graceSeconds: 20 },
        },
        async ({ work, stop }) => {
          await waitForFile(join(work, 'ready'));
          stop('graceful');
        },
      );
      expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 143, stop: 'graceful' });
      expect(afterSaw(run.work)).toBe('143');
    });

    test('grandchildren are signalled too, and nothing is left running afterwards', async () => {
      const run = await runStep(
        variant,
        {
          script: [
            'sleep 300 & echo $! > "$BITBUCKET_CLONE_DIR/background.pid"',
            '( sleep 301; echo never ) & echo $! > "$BITBUCKET_CLONE_DIR/subshell.pid"',
            // A grandchild that ignores SIGTERM, so only the SIGKILL to the group ends it.
            `sh -c 'trap "" TERM; echo $$ > "$BITBUCKET_CLONE_DIR/stubborn.pid"; while :; do sleep 1; done' &`,
            'while [ ! -s "$BITBUCKET_CLONE_DIR/stubborn.pid" ]; do sleep 0.05; done',
            'echo ready > "$BITBUCKET_CLONE_DIR/ready"',
            'sleep 302',
          ],
          stop: { graceSeconds: GRACE },
        },
        async ({ work, stop }) => {
          await waitForFile(join(work, 'ready'));
          stop('graceful');
        },
      );
      expect(run.exit.status?.outcome).toBe('stopped');
      const pids = ['background', 'subshell', 'stubborn'].map((name) => pidIn(join(run.work, `${name}.pid`)));
      expect(run.scriptPgid).not.toBeNull();
      expect(await survivors(pids, run.scriptPgid!)).toEqual([]);
    });

    test('processes a successful script leaves behind are ended with it', async () => {
      const run = await runStep(variant, {
        script: ['sleep 300 & echo $! > "$BITBUCKET_CLONE_DIR/background.pid"', 'echo done'],
      });
      expect(run.exit.code).toBe(0);
      expect(await survivors([pidIn(join(run.work, 'background.pid'))], run.scriptPgid!)).toEqual([]);
    });

    test('max-time: the same graceful stop, outcome timed out, then the after-script', async () => {
      const run = await runStep(variant, {
        script: ['echo started', 'sleep 30'],
        afterScript: RECORD_EXIT_CODE,
        maxTime: 0.5,
        stop: { graceSeconds: GRACE },
      });
      expect(run.exit.code).toBe(SUPERVISOR_EXIT.timedOut);
      expect(run.exit.status).toEqual({ outcome: 'timed-out', exitCode: 143, stop: 'timeout' });
      expect(afterSaw(run.work)).toBe('143');
      expect(run.stderr).toContain('max-time of 0.50s reached: sent SIGTERM');
      expect(run.ms).toBeGreaterThanOrEqual(500);
    });

    test('SIGUSR1 kills the group at once and skips the after-script', async () => {
      const run = await runStep(
        variant,
        {
          script: [
            `trap 'echo trapped >> "$BITBUCKET_CLONE_DIR/signals"' TERM`,
            'echo ready > "$BITBUCKET_CLONE_DIR/ready"',
            'sleep 30',
          ],
          afterScript: RECORD_EXIT_CODE,
          stop: { graceSeconds: 30 },
        },
        async ({ work, stop }) => {
          await waitForFile(join(work, 'ready'));
          stop('immediate');
        },
      );
      expect(run.exit.code).toBe(SUPERVISOR_EXIT.stopped);
      expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 137, stop: 'immediate' });
      expect(existsSync(join(run.work, 'signals'))).toBe(false);
      expect(afterSaw(run.work)).toBeNull();
      expect(run.msAfterStop).toBeLessThan(10_000);
    });

    test('SIGUSR1 during the grace ends the wait for it', async () => {
      const run = await runStep(
        variant,
        {
          script: [`trap '' TERM`, 'echo ready > "$BITBUCKET_CLONE_DIR/ready"', 'sleep 60'],
          afterScript: RECORD_EXIT_CODE,
          stop: { graceSeconds: 60 },
        },
        async ({ work, stop, supervisor }) => {
          await waitForFile(join(work, 'ready'));
          stop('graceful');
          await sleep(200);
          supervisor.stop('immediate');
        },
      );
      expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 137, stop: 'immediate' });
      expect(afterSaw(run.work)).toBeNull();
      expect(run.msAfterStop).toBeLessThan(20_000);
    });

    test('the cancel file starts a graceful stop', async () => {
      const run = await runStep(
        variant,
        {
          script: ['echo ready > "$BITBUCKET_CLONE_DIR/ready"', 'sleep 30'],
          afterScript: RECORD_EXIT_CODE,
          cancelFile: 'cancel',
          stop: { graceSeconds: GRACE },
        },
        async ({ work }) => {
          await waitForFile(join(work, 'ready'));
          writeFileSync(join(work, 'cancel'), '');
        },
      );
      expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 143, stop: 'graceful' });
      expect(afterSaw(run.work)).toBe('143');
      expect(run.stderr).toContain('cancel file cancel found');
    });

    test('a stop request during the after-script changes nothing: it runs to its end', async () => {
      const run = await runStep(
        variant,
        {
          script: ['exit 4'],
          afterScript: [
            'echo ready > "$BITBUCKET_CLONE_DIR/ready"',
            'sleep 0.5',
            'echo "after done" > "$BITBUCKET_CLONE_DIR/after-done"',
          ],
        },
        async ({ work, stop }) => {
          await waitForFile(join(work, 'ready'));
          stop('graceful');
        },
      );
      expect(run.exit.code).toBe(4);
      expect(run.exit.status).toEqual({ outcome: 'failed', exitCode: 4, stop: 'none' });
      expect(readFileSync(join(run.work, 'after-done'), 'utf8')).toBe('after done\n');
      expect(run.stderr).toContain('SIGTERM received during the after-script');
    });

    test('the after-script has its own time budget', async () => {
      const run = await runStep(variant, {
        script: ['true'],
        afterScript: ['sleep 30'],
        afterScriptTimeout: 0.5,
        stop: { graceSeconds: GRACE },
      });
      expect(run.exit.code).toBe(0);
      expect(run.exit.status?.outcome).toBe('succeeded');
      expect(run.stderr).toContain('the after-script ran past its 0.50s budget');
      expect(run.stderr).toContain('the after-script failed with exit code 143');
    });

    test('fifty short steps in a row all end cleanly (races between exit and wake-up)', async () => {
      const outcomes: string[] = [];
      for (let batch = 0; batch < 10; batch++) {
        const runs = await Promise.all(
          Array.from({ length: 5 }, () => runStep(variant, { script: ['true'], maxTime: 3600 })),
        );
        for (const run of runs) outcomes.push(`${run.exit.code} ${run.exit.status?.outcome} ${run.stderr}`);
      }
      expect(outcomes).toEqual(Array.from({ length: 50 }, () => '0 succeeded '));
    });

    test('bad settings end with the error status and a message naming the setting', async () => {
      const run = await runStep(variant, { script: ['true'], env: { FINALE_STOP_SIGNAL: 'HUP' } });
      // startSupervisor set FINALE_STOP_SIGNAL only when asked; the test's env wins.
      expect(run.exit.code).toBe(SUPERVISOR_EXIT.error);
      expect(run.exit.status).toEqual({ outcome: 'error', exitCode: 0, stop: 'none' });
      expect(run.stderr).toBe('finale: error: FINALE_STOP_SIGNAL=HUP: expected TERM or INT\n');
    });
  });
}
