// Latencies of the embedded engine, measured end to end with real processes and timestamps written
// by the steps themselves (vitest bench can only time whole functions, so this is a script; run it
// with `npm run bench`). Prints medians; the README's performance section records them.
//
//   per-step overhead   50 no-op steps on the engine vs 50 × `sh -c true`
//   stop → signal       POST /runs/{run}/stop to the traps of every process of the step
//   exit → final        the last command of a failing step to the first command of the final step
//   lock handoff        a deployment's last command to the next queued run's first command

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalHost, openLocalHost } from '../local/host';
import { finalePaths } from '../local/paths';
import { startServer } from '../local/server';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const ROUNDS = Number(process.env.FINALE_BENCH_ROUNDS ?? 5);

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;
const sleep = (time: number) => new Promise((resolve) => setTimeout(resolve, time));

function repository(yaml: string) {
  const root = mkdtempSync(join(tmpdir(), 'finale-bench-'));
  const markers = join(root, '.markers');
  mkdirSync(markers);
  writeFileSync(join(root, 'bitbucket-pipelines.yml'), yaml);
  writeFileSync(join(root, '.gitignore'), '.markers/\n.finale/\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.email=bench@example.com', '-c', 'user.name=Bench', 'commit', '-qm', 'bench');
  return { root, markers };
}

async function open(yaml: string) {
  const repo = repository(yaml);
  const host = await openLocalHost({
    paths: finalePaths(repo.root),
    environment: { ...process.env, MARKERS: repo.markers },
  });
  return { ...repo, host };
}

async function run(host: LocalHost) {
  const { run } = await host.runs.start({
    repository: host.repository,
    file: 'bitbucket-pipelines.yml',
    variables: {},
    caller: { user: 'bench' },
  });
  return run;
}

/** Nanosecond timestamps a step wrote with `date +%s%N`, in milliseconds. */
function stamps(markers: string, name: string): number[] {
  const file = join(markers, name);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => Number(line) / 1e6);
}

async function until(check: () => boolean, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

async function perStepOverhead(clone: boolean) {
  const steps = Array.from(
    { length: 50 },
    (_, i) =>
      `    - step:\n        name: Step ${i + 1}\n${clone ? '' : '        clone:\n          enabled: false\n'}        script:\n          - 'true'\n`,
  ).join('');
  const { host } = await open(`pipelines:\n  default:\n${steps}`);
  const engine: number[] = [];
  const shell: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = await run(host);
    const t0 = performance.now();
    await host.settled(started.runId);
    // From the first state to the last; the run's own start (snapshot, plan) is not per step.
    engine.push(performance.now() - t0);
    const t1 = performance.now();
    for (let i = 0; i < 50; i++) execFileSync('sh', ['-c', 'true']);
    shell.push(performance.now() - t1);
  }
  await host.close();
  return { engine: median(engine) / 50, shell: median(shell) / 50 };
}

async function stopToSignal() {
  // The shell, a child, and a double-forked grandchild in a session of its own: each appends its stamp.
  const repo = repository(`pipelines:
  default:
    - step:
        name: Wait
        script:
          - trap 'date +%s%N >> "$MARKERS/signal"; exit 143' TERM
          - export CHILD='trap "date +%s%N >> \\"$MARKERS/signal\\"; exit 0" TERM; while :; do sleep 0.01; done'
          - sh -c "$CHILD" &
          - setsid sh -c 'sh -c "$CHILD" &' &
          - echo > "$MARKERS/ready"
          - while :; do sleep 0.01; done
`);
  const server = await startServer(finalePaths(repo.root));
  const token = readFileSync(join(repo.root, '.finale', 'token'), 'utf8').trim();
  const headers = {
    authorization: `Bearer ${token}`,
    'x-finale-user': 'bench',
    'content-type': 'application/json',
  };
  const base = `http://127.0.0.1:${server.info.port}`;
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ready = join(repo.markers, 'ready');
    if (existsSync(ready)) execFileSync('rm', [ready]);
    const response = await fetch(`${base}/runs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ environment: { ...process.env, MARKERS: repo.markers } }),
    });
    const { run } = (await response.json()) as { run: { runId: string } };
    await until(() => existsSync(ready));
    await sleep(200);
    const before = stamps(repo.markers, 'signal').length;
    const sent = Date.now();
    await fetch(`${base}/runs/${run.runId}/stop`, { method: 'POST', headers, body: '{}' });
    // Every process of the step has its signal: the last of the three stamps.
    await until(() => stamps(repo.markers, 'signal').length >= before + 3);
    latencies.push(Math.max(...stamps(repo.markers, 'signal').slice(before)) - sent);
    await server.host.settled(run.runId);
  }
  await server.close();
  return median(latencies);
}

async function exitToFinal() {
  const { host, markers } = await open(`pipelines:
  default:
    - step:
        name: Fails
        script:
          - date +%s%N >> "$MARKERS/exit"
          - exit 1
    - final:
        name: Cleanup
        script:
          - date +%s%N >> "$MARKERS/final"
`);
  const latencies: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await host.settled((await run(host)).runId);
    latencies.push(stamps(markers, 'final').at(-1)! - stamps(markers, 'exit').at(-1)!);
  }
  await host.close();
  return median(latencies);
}

async function lockHandoff(waiters: number) {
  const { host, markers } = await open(`pipelines:
  default:
    - step:
        name: Deploy
        deployment: production
        clone:
          enabled: false
        script:
          - date +%s%N >> "$MARKERS/start"
          - sleep 0.2
          - date +%s%N >> "$MARKERS/end"
`);
  const runs = [];
  for (let i = 0; i <= waiters; i++) runs.push(await run(host));
  await Promise.all(runs.map((r) => host.settled(r.runId)));
  const starts = stamps(markers, 'start').sort((a, b) => a - b);
  const ends = stamps(markers, 'end').sort((a, b) => a - b);
  const gaps = starts.slice(1).map((start, i) => start - ends[i]!);
  await host.close();
  return median(gaps);
}

const results: [string, string][] = [];
const overhead = await perStepOverhead(false);
results.push([
  'per-step overhead, clone disabled (engine − sh -c)',
  `${ms(overhead.engine - overhead.shell)} (engine ${ms(overhead.engine)}, sh -c ${ms(overhead.shell)})`,
]);
const cloned = await perStepOverhead(true);
results.push([
  'per-step overhead, with a workspace copy per step',
  `${ms(cloned.engine - cloned.shell)} (engine ${ms(cloned.engine)})`,
]);
results.push([
  'stop request (HTTP) → the signal at every process of the step (shell, child, setsid grandchild)',
  ms(await stopToSignal()),
]);
results.push(['step exit → final step start', ms(await exitToFinal())]);
for (const n of [1, 5, 10])
  results.push([
    `lock handoff, ${n} waiter${n === 1 ? '' : 's'} (end of one deploy → start of the next)`,
    ms(await lockHandoff(n)),
  ]);

const width = Math.max(...results.map(([name]) => name.length));
console.log(`\nembedded engine, median of ${ROUNDS} rounds`);
for (const [name, value] of results) console.log(`  ${name.padEnd(width)}  ${value}`);
