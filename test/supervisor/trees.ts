// The shapes real steps have: the script's shell starts the tool (Terraform, Helm) as a child, which
// traps the stop signal while the shell dies at once; tools that ignore signals; processes that
// leave the script's process group (setsid, nohup, double forks). Run under one shell variant, both
// contained (the supervisor as PID 1 of its own PID namespace, as in a container and under the
// embedded engine) and, where a machine offers no namespaces, in the script's process group alone.

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { type Containment, detectContainment } from '../../supervisor/containment';
import { shellQuote } from '../../supervisor/render';
import { leftAlive, processesMarked } from '../support/processes';
import { removeTemporaryDirs, runStep, type ShellVariant, waitForFile } from './helpers';

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n') : []);

/** A child of the script's shell that traps `signal`, logs, cleans up for `seconds`, then exits 1. */
function trappingChild(signal: 'TERM' | 'INT', seconds: number, { setsid = false } = {}) {
  const body = [
    `trap 'echo "got $0" >> "$W/child"; sleep ${seconds}; echo cleaned >> "$W/child"; exit 1' ${signal}`,
    'echo ready > "$W/ready"',
    'while :; do sleep 0.05; done',
  ].join('; ');
  return `${setsid ? 'setsid ' : ''}sh -c ${shellQuote(body)} ${signal}`;
}

/** The after-script records the exit code it was told and whether the child had finished by then. */
const AFTER = ['echo "$BITBUCKET_EXIT_CODE $(tail -n 1 "$W/child" 2>/dev/null)" > "$W/after"'];

export function processTreeSuite(variant: ShellVariant): void {
  afterAll(removeTemporaryDirs);
  const containment = detectContainment();
  const modes: [string, Containment | null][] = [['in its process group', null]];
  if (containment) modes.unshift(['contained', containment]);

  for (const [mode, contain] of modes) {
    describe.concurrent(`process trees under ${variant.name}, ${mode}`, () => {
      const step = (
        options: Omit<Parameters<typeof runStep>[1], 'env'>,
        during?: Parameters<typeof runStep>[2],
      ) => {
        const mark = randomUUID();
        return {
          mark,
          run: runStep(variant, { ...options, contain, env: { STEP_MARK: mark, W: '.' } }, during),
        };
      };

      test("a child that traps the stop signal gets the grace although the shell dies at once; then the after-script runs with the shell's code", async () => {
        const { run: running } = step(
          { script: [trappingChild('TERM', 1)], afterScript: AFTER, stop: { graceSeconds: 20 } },
          async ({ work, stop }) => {
            await waitForFile(join(work, 'ready'));
            stop('graceful');
          },
        );
        const run = await running;
        expect(lines(join(run.work, 'child'))).toEqual(['got TERM', 'cleaned']);
        // The shell died of the SIGTERM (143); the after-script started once the child had cleaned up.
        expect(lines(join(run.work, 'after'))).toEqual(['143 cleaned']);
        expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 143, stop: 'graceful' });
        expect(run.msAfterStop).toBeGreaterThanOrEqual(1000);
        expect(run.msAfterStop).toBeLessThan(10_000);
      });

      // Where sh has no job control and no GNU env can reset it, SIGINT starts ignored (busybox-only.test.ts).
      if (!variant.sigintIgnored)
        test('the same with SIGINT, the signal Terraform wants', async () => {
          const { run: running } = step(
            {
              script: [trappingChild('INT', 0.5)],
              afterScript: AFTER,
              stop: { signal: 'INT', graceSeconds: 20 },
            },
            async ({ work, stop }) => {
              await waitForFile(join(work, 'ready'));
              stop('graceful');
            },
          );
          const run = await running;
          expect(lines(join(run.work, 'child'))).toEqual(['got INT', 'cleaned']);
          expect(lines(join(run.work, 'after'))[0]).toMatch(/ cleaned$/);
        });

      test('a child that ignores the signal is killed when the grace ends, then the after-script runs', async () => {
        const { mark, run: running } = step(
          {
            script: [
              `sh -c ${shellQuote('trap "" TERM; echo ready > "$W/ready"; while :; do sleep 0.05; done')}`,
            ],
            afterScript: AFTER,
            stop: { graceSeconds: 0.6 },
          },
          async ({ work, stop }) => {
            await waitForFile(join(work, 'ready'));
            stop('graceful');
          },
        );
        const run = await running;
        expect(run.msAfterStop).toBeGreaterThanOrEqual(600);
        expect(lines(join(run.work, 'after'))).toEqual(['143']);
        expect(run.stderr).toContain('grace period over');
        expect(await leftAlive(() => processesMarked(mark))).toEqual([]);
      });

      test('a script whose own trap exits keeps its exit code while its child still cleans up', async () => {
        const { run: running } = step(
          {
            script: [
              `trap 'exit 7' TERM`,
              `${trappingChild('TERM', 0.5)} &`,
              'while [ ! -e "$W/ready" ]; do sleep 0.05; done',
              'echo ready > "$W/ready"',
              'while :; do sleep 0.05; done',
            ],
            afterScript: AFTER,
            stop: { graceSeconds: 20 },
          },
          async ({ work, stop }) => {
            await waitForFile(join(work, 'ready'));
            stop('graceful');
          },
        );
        const run = await running;
        expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 7, stop: 'graceful' });
        expect(lines(join(run.work, 'after'))).toEqual(['7 cleaned']);
      });

      test('a stop that comes while the supervisor starts is kept', async () => {
        const { run: running } = step(
          { script: ['sleep 30'], afterScript: AFTER, stop: { graceSeconds: 20 } },
          async ({ stop }) => stop('graceful'),
        );
        const run = await running;
        expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 143, stop: 'graceful' });
        expect(lines(join(run.work, 'after'))).toEqual(['143']);
      });

      if (contain) {
        test('a setsid child gets the signal and the grace too, and nothing outlives the step', async () => {
          const { mark, run: running } = step(
            {
              script: [`${trappingChild('TERM', 0.5, { setsid: true })} &`, 'sleep 300'],
              afterScript: AFTER,
              stop: { graceSeconds: 20 },
            },
            async ({ work, stop }) => {
              await waitForFile(join(work, 'ready'));
              stop('graceful');
            },
          );
          const run = await running;
          expect(lines(join(run.work, 'child'))).toEqual(['got TERM', 'cleaned']);
          expect(lines(join(run.work, 'after'))).toEqual(['143 cleaned']);
          expect(await leftAlive(() => processesMarked(mark))).toEqual([]);
        });

        test('nothing a step starts outlives it: &, nohup, setsid, a double fork, in the after-script too', async () => {
          const escapes = [
            'sleep 300 &',
            'nohup sleep 301 >/dev/null 2>&1 &',
            'setsid sleep 302 &',
            `sh -c ${shellQuote(`setsid sh -c ${shellQuote('trap "" TERM HUP; sleep 303')} &`)} &`,
          ];
          const { mark, run: running } = step({
            script: [...escapes, 'sleep 0.3', 'echo done'],
            afterScript: [...escapes, 'sleep 0.3'],
          });
          const run = await running;
          expect(run.exit.code).toBe(0);
          expect(await leftAlive(() => processesMarked(mark))).toEqual([]);
        });

        // Sixteen at once: as PID 1, the supervisor gets a SIGCHLD for every orphan the kill ends, and
        // busybox once took one that cut `wait` short twice for the script's status (145, not 137)
        // in about one stop in six.
        test('an immediate stop takes every process of the step down at once', async () => {
          const stops = Array.from({ length: 16 }, () =>
            step(
              {
                script: [`${trappingChild('TERM', 5, { setsid: true })} &`, 'sleep 300'],
                afterScript: AFTER,
                stop: { graceSeconds: 30 },
              },
              async ({ work, stop }) => {
                await waitForFile(join(work, 'ready'));
                stop('immediate');
              },
            ),
          );
          for (const { mark, run: running } of stops) {
            const run = await running;
            expect(run.exit.status).toEqual({ outcome: 'stopped', exitCode: 137, stop: 'immediate' });
            expect(existsSync(join(run.work, 'after'))).toBe(false);
            expect(lines(join(run.work, 'child'))).toEqual([]);
            expect(await leftAlive(() => processesMarked(mark))).toEqual([]);
          }
        });
      } else {
        test('without a namespace a setsid child leaves the group: the machine says so, and it is not waited for', async () => {
          const { mark, run: running } = step(
            {
              // Its own output, or the step's log would stay open as long as it lives.
              script: [`${trappingChild('TERM', 0.5, { setsid: true })} >/dev/null 2>&1 &`, 'sleep 300'],
              afterScript: AFTER,
              stop: { graceSeconds: 20 },
            },
            async ({ work, stop }) => {
              await waitForFile(join(work, 'ready'));
              stop('graceful');
            },
          );
          const run = await running;
          // The limit the notice describes: the escaped child got no signal and outlived the step.
          expect(lines(join(run.work, 'child'))).toEqual([]);
          const escaped = processesMarked(mark);
          expect(escaped.length).toBeGreaterThan(0);
          for (const pid of escaped) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // One of its short sleeps, gone already.
            }
          }
        });
      }
    });
  }
}
