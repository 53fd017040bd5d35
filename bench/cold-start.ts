// What `cdk deploy` ships, measured: `cdk synth` into a temporary directory, then for each Lambda
// function of the template its bundle's size (the asset CDK uploads, AWS SDK included) and its cold
// import — a fresh `node` process importing the bundle's index.mjs, as the nodejs22.x runtime does on
// a cold start before the first event. Medians of 15 processes each, alternating functions.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROUNDS = 15;
const out = mkdtempSync(join(tmpdir(), 'finale-bench-synth-'));
execFileSync('npx', ['cdk', 'synth', '--quiet', '-o', out], {
  env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
  stdio: ['ignore', 'ignore', 'inherit'],
});

interface LambdaResource {
  readonly Type: string;
  readonly Metadata?: Record<string, string>;
}
const template = JSON.parse(
  readFileSync(join(out, readdirSync(out).find((name) => name.endsWith('.template.json'))!), 'utf8'),
) as { Resources: Record<string, LambdaResource> };
const functions = Object.entries(template.Resources)
  .filter(
    ([, resource]) => resource.Type === 'AWS::Lambda::Function' && resource.Metadata?.['aws:asset:path'],
  )
  .map(([id, resource]) => ({
    name: /Functions([a-z]+)[A-Z0-9]/.exec(id)?.[1] ?? id,
    dir: join(out, resource.Metadata!['aws:asset:path']!),
  }));

const bytesOf = (dir: string) =>
  readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);

/** Milliseconds to import the bundle in a fresh process (process start excluded), and in all. */
function coldImport(dir: string): { importMs: number; processMs: number } {
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(join(dir, 'index.mjs')).href)}); process.stdout.write(String(performance.now() - t));`,
    ],
    { env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1' }, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`importing ${dir} failed: ${result.stderr}`);
  return { importMs: Number(result.stdout), processMs: performance.now() - started };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const samples = new Map(
  functions.map((f) => [f.name, { importMs: [] as number[], processMs: [] as number[] }]),
);
for (let round = 0; round < ROUNDS; round++) {
  for (const f of functions) {
    const sample = coldImport(f.dir);
    samples.get(f.name)!.importMs.push(sample.importMs);
    samples.get(f.name)!.processMs.push(sample.processMs);
  }
}
console.log(
  `Lambda bundles as \`cdk synth\` ships them; cold import, median of ${ROUNDS} (${process.version})`,
);
for (const f of functions) {
  const s = samples.get(f.name)!;
  console.log(
    `${f.name.padEnd(8)} index.mjs ${(statSync(join(f.dir, 'index.mjs')).size / 1024).toFixed(0).padStart(5)} KB, asset ${(bytesOf(f.dir) / 1024).toFixed(0).padStart(5)} KB  import ${median(s.importMs).toFixed(0).padStart(4)} ms  node + import ${median(s.processMs).toFixed(0).padStart(4)} ms`,
  );
}
rmSync(out, { recursive: true, force: true });
