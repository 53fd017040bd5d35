// A 200 MB step log through the masking process a local step with secured variables gets (the
// bundled dist/mask.js, started by startSupervisor as the embedded engine starts it), against the
// same step writing straight to its log file. Three runs each, alternating; medians. Also the
// masking process's peak memory, and a check that the log holds no secured value.

import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSupervisor } from '../supervisor/start';

const MB = 1024 * 1024;
const SIZE = 200 * MB;
const SECRETS = Array.from({ length: 10 }, (_, i) => ({
  name: `SECRET_${i}`,
  value: `s3cr3t-${i}-${'x'.repeat(24)}`,
}));
const work = mkdtempSync(join(tmpdir(), 'finale-bench-masking-'));

/** Peak resident memory of the masking process, sampled while it runs (it is gone afterwards). */
function watchPeak(): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    for (const pid of readFileSync('/proc/self/task/' + process.pid + '/children', 'utf8')
      .trim()
      .split(/\s+/)) {
      if (!pid) continue;
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if (!cmdline.includes('mask.js')) continue;
        const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (rss) peak = Math.max(peak, Number(rss[1]) * 1024);
      } catch {
        // It ended between the listing and the read.
      }
    }
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

async function once(line: string, masked: boolean, index: number) {
  const dir = join(work, `run-${index}`);
  const log = join(dir, 'step.log');
  mkdirSync(dir, { recursive: true });
  const fd = openSync(log, 'w');
  const peak = watchPeak();
  const started = performance.now();
  const supervisor = await startSupervisor({
    dir,
    script: [`yes '${line}' | head -c ${SIZE}`],
    env: { PATH: process.env.PATH ?? '', ...Object.fromEntries(SECRETS.map((s) => [s.name, s.value])) },
    output: fd,
    ...(masked ? { mask: SECRETS } : {}),
  });
  closeSync(fd);
  const exit = await supervisor.exited;
  const ms = performance.now() - started;
  const memory = peak.stop();
  if (exit.outcome !== 'succeeded') throw new Error(`the step ended ${exit.outcome}`);
  const bytes = statSync(log).size;
  const text = readFileSync(log);
  const leaked = masked && SECRETS.some((secret) => text.includes(secret.value));
  rmSync(dir, { recursive: true, force: true });
  return { ms, bytes, memory, leaked };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const CASES = [
  { name: 'no secured value in the output', line: 'plain build output, nothing to hide '.repeat(3) },
  { name: 'a secured value on every line', line: `token ${SECRETS[3]!.value} and more output after it` },
];

console.log(
  `200 MB of step output, ${SECRETS.length} secured values; medians of 3 runs (${process.version})`,
);
for (const { name, line } of CASES) {
  const plain: number[] = [];
  const masked: number[] = [];
  let memory = 0;
  for (let i = 0; i < 3; i++) {
    plain.push((await once(line, false, i * 2)).ms);
    const result = await once(line, true, i * 2 + 1);
    if (result.leaked) throw new Error('a secured value reached the log');
    masked.push(result.ms);
    memory = Math.max(memory, result.memory);
  }
  const [p, m] = [median(plain), median(masked)];
  console.log(
    `${name}: straight to the file ${(p / 1000).toFixed(2)} s (${(SIZE / MB / (p / 1000)).toFixed(0)} MB/s), ` +
      `through the masking process ${(m / 1000).toFixed(2)} s (${(SIZE / MB / (m / 1000)).toFixed(0)} MB/s), ` +
      `its peak memory ${(memory / MB).toFixed(0)} MB`,
  );
}
rmSync(work, { recursive: true, force: true });
