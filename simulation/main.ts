// `npm run simulate -- --seed S --schedules N`: the fault simulation. Schedule i of seed S is drawn
// from scheduleSeed(S, i) alone, so a failing one replays with `--seed S --schedule i`. Schedules run
// in worker processes (two by default: this machine has two cores), a few at a time in each, since a
// schedule spends most of its time waiting on timers and the store.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { type LocalDynamo, startDynalite } from '../local/dynalite';
import { playSchedule } from './driver';
import { checkInvariants, type Violation } from './invariants';
import { scheduleSeed } from './random';
import { generateSchedule } from './scenario';

interface Result {
  readonly index: number;
  readonly real: boolean;
  readonly runs: number;
  readonly crashes: number;
  readonly violations: readonly Violation[];
  readonly ms: number;
}

export async function runOne(
  seed: number,
  index: number,
  realShare?: number,
  dynamo?: LocalDynamo,
): Promise<Result> {
  const schedule = generateSchedule(scheduleSeed(seed, index), { real: isReal(index, realShare) });
  const started = performance.now();
  const observation = await playSchedule(schedule, dynamo ? { dynamo } : {});
  return {
    index,
    real: schedule.real,
    runs: observation.runs.length,
    crashes: observation.crashes.length,
    violations: checkInvariants(observation),
    ms: performance.now() - started,
  };
}

const SCHEDULES_PER_STORE = 25;
const DEFAULT_REAL_SHARE = 0.05;

/**
 * Whether schedule `index` runs real processes: exactly `share` of any run of consecutive schedules
 * (one in twenty for 5%), spread evenly, rather than drawn (a draw gave 4.9% of 10,000 once).
 */
export function isReal(index: number, share = DEFAULT_REAL_SHARE): boolean {
  return Math.floor((index + 1) * share) > Math.floor(index * share);
}

/** Runs schedules `indexes`, `parallel` at a time, reporting each as it ends. */
async function runMany(
  seed: number,
  indexes: readonly number[],
  parallel: number,
  onResult: (result: Result) => void,
  realShare?: number,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      // A store per lane, started afresh now and then: starting one costs about as much CPU as a
      // simulated schedule's own requests, and the orphan sweeps scan all the runs it holds.
      let dynamo: LocalDynamo | undefined;
      let played = 0;
      try {
        while (next < indexes.length) {
          const index = indexes[next++]!;
          if (played++ % SCHEDULES_PER_STORE === 0) {
            await dynamo?.close();
            dynamo = await startDynalite();
          }
          onResult(await runOne(seed, index, realShare, dynamo));
        }
      } finally {
        await dynamo?.close();
      }
    }),
  );
}

const integer = (what: string) => (value: string) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError(`${what}: a whole number`);
  return number;
};

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('simulate')
    .description(
      'Seeded fault simulation of the embedded engine: random pipelines and random faults, checked against the invariants',
    )
    .option('--seed <n>', 'the seed of the whole simulation', integer('--seed'), 1)
    .option('--schedules <n>', 'how many schedules', integer('--schedules'), 100)
    .option('--schedule <i>', 'replay one schedule of the seed', integer('--schedule'))
    .option('--workers <n>', 'worker processes', integer('--workers'), 2)
    .option('--parallel <n>', 'schedules at a time in each worker', integer('--parallel'), 4)
    .option(
      '--real-share <fraction>',
      'the share of schedules with real supervisor processes',
      Number,
      DEFAULT_REAL_SHARE,
    )
    .option('--worker <range>', 'internal: run schedules FROM:TO and report them on stdout')
    .parse(argv, { from: 'user' });
  const options = program.opts<{
    seed: number;
    schedules: number;
    schedule?: number;
    workers: number;
    parallel: number;
    realShare: number;
    worker?: string;
  }>();

  if (options.worker) {
    const [from, to] = options.worker.split(':').map(Number) as [number, number];
    const indexes = Array.from({ length: to - from }, (_, i) => from + i);
    await runMany(
      options.seed,
      indexes,
      options.parallel,
      (result) => process.send?.(result),
      options.realShare,
    );
    // Every result is out once the channel has taken the last one; an engine's timer that outlives
    // its schedule (a Task state's timeout of a fenced execution) must not hold the worker.
    await new Promise<void>((resolve) => process.send?.({ done: true }, () => resolve()) ?? resolve());
    process.exit(0);
  }

  const indexes =
    options.schedule !== undefined
      ? [options.schedule]
      : Array.from({ length: options.schedules }, (_, i) => i);
  const results: Result[] = [];
  const startedAt = performance.now();
  const onResult = (result: Result) => {
    results.push(result);
    for (const violation of result.violations) {
      process.stdout.write(
        `✗ schedule ${result.index}${violation.run !== undefined ? ` run #${violation.run}` : ''}: ${violation.invariant}: ${violation.detail}\n  replay: npm run simulate -- --seed ${options.seed} --schedule ${result.index}\n`,
      );
    }
    if (results.length % 500 === 0) process.stderr.write(`… ${results.length} schedules\n`);
  };
  if (indexes.length === 1 || options.workers <= 1) {
    await runMany(options.seed, indexes, options.parallel, onResult, options.realShare);
  } else {
    const size = Math.ceil(indexes.length / options.workers);
    await Promise.all(
      Array.from({ length: options.workers }, (_, w) => {
        const from = indexes[0]! + w * size;
        const to = Math.min(indexes[0]! + indexes.length, from + size);
        if (from >= to) return Promise.resolve();
        const child = fork(
          fileURLToPath(import.meta.url),
          [
            '--worker',
            `${from}:${to}`,
            '--seed',
            String(options.seed),
            '--parallel',
            String(options.parallel),
            '--real-share',
            String(options.realShare),
          ],
          { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
        );
        child.on('message', (message) => {
          if (!(message as { done?: boolean }).done) onResult(message as Result);
        });
        return new Promise<void>((resolve, reject) =>
          child.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`worker ${w} exited ${code}`)),
          ),
        );
      }),
    );
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const violations = results.reduce((sum, result) => sum + result.violations.length, 0);
  const real = results.filter((result) => result.real).length;
  const runs = results.reduce((sum, result) => sum + result.runs, 0);
  const crashes = results.reduce((sum, result) => sum + result.crashes, 0);
  process.stdout.write(
    `${results.length} schedules (${real} with real supervisor processes), ${runs} runs, ${crashes} engine deaths, in ${seconds.toFixed(1)} s: ${violations} violations\n`,
  );
  return violations === 0 && results.length === indexes.length ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    // Not process.exitCode: a fenced execution's timers (its Task states' timeouts) outlive their
    // schedule and would hold the process for as long as those timeouts are.
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`simulate: ${error.stack ?? error.message}\n`);
      process.exitCode = 1;
    },
  );
}
