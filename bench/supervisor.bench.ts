// The step supervisor's overhead per step: the same no-op items run by a plain `sh -c` and by
// supervisor.sh (own process group, the max-time timer, the status file), each spawned from Node
// and awaited, under dash, busybox sh and bash. Each iteration runs both, one after the other, so
// that the load of a shared machine weighs on both alike; the printed figures are medians, and the
// overhead is the median of the paired differences.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { renderScript } from '../supervisor/render';
import { SUPERVISOR_PATH } from '../supervisor/start';

const ITEMS = ['true', ':', 'export A=1', 'true'];
const OPTIONS = { time: 4_000, iterations: 50, warmupIterations: 5 };

const work = mkdtempSync(join(tmpdir(), 'finale-bench-'));
const script = join(work, 'script.sh');
writeFileSync(script, renderScript(ITEMS));
const bin = join(work, 'bin');
mkdirSync(bin);
symlinkSync('/usr/bin/busybox', join(bin, 'ash'));

const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('FINALE_')));

/** Spawns and awaits a command; milliseconds it took. */
function run(command: string, args: readonly string[], extra: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...env, ...extra }, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command} exited ${code}`)),
    );
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const SHELLS = [
  { name: 'dash', interpreter: ['/usr/bin/dash'], shell: '/usr/bin/dash' },
  { name: 'busybox sh', interpreter: ['/usr/bin/busybox', 'sh'], shell: join(bin, 'ash') },
  { name: 'bash', interpreter: ['/usr/bin/bash'], shell: '/usr/bin/bash' },
];

const samples = new Map<string, { plain: number[]; supervised: number[]; overhead: number[] }>();

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  for (const [name, { plain, supervised, overhead }] of samples) {
    console.log(
      `${name}: plain sh -c ${median(plain).toFixed(2)} ms, supervisor.sh ${median(supervised).toFixed(2)} ms, ` +
        `overhead ${median(overhead).toFixed(2)} ms (medians of ${overhead.length}); ` +
        `fastest ${Math.min(...plain).toFixed(2)} ms and ${Math.min(...supervised).toFixed(2)} ms`,
    );
  }
});

for (const { name, interpreter, shell } of SHELLS) {
  const [command, ...args] = interpreter as [string, ...string[]];
  const dir = join(work, name.replace(' ', '-'));
  mkdirSync(dir);
  const { plain, supervised, overhead } = {
    plain: [] as number[],
    supervised: [] as number[],
    overhead: [] as number[],
  };
  samples.set(name, { plain, supervised, overhead });
  describe(`one no-op step under ${name}`, () => {
    bench(
      'plain sh -c, then supervisor.sh',
      async () => {
        const a = await run(command, [...args, '-c', `set -e\n${ITEMS.join('\n')}`]);
        const b = await run(command, [...args, SUPERVISOR_PATH], {
          FINALE_DIR: dir,
          FINALE_SCRIPT: script,
          FINALE_SHELL: shell,
          FINALE_MAX_TIME: '7200',
          BITBUCKET_CLONE_DIR: work,
        });
        plain.push(a);
        supervised.push(b);
        overhead.push(b - a);
      },
      OPTIONS,
    );
  });
}
