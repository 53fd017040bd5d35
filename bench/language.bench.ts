// Parse and validate: the whole shared corpus (160 real files), and one generated 100-step pipeline.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bench, describe } from 'vitest';
import { parsePipelineFile, selectPipeline } from '../statemachine/language/index';

const CORPUS = resolve('../shared/corpus/bitbucket-pipelines');
const corpus = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => ({ name: f, text: readFileSync(join(CORPUS, f), 'utf8') }));

/** 100 steps: 70 sequential steps, 10 parallel groups of 3, all with the usual keys. */
function hundredSteps(): string {
  const step = (i: number, indent: string) =>
    [
      `${indent}- step:`,
      `${indent}    name: Step ${i}`,
      `${indent}    image: node:20`,
      `${indent}    caches: [node]`,
      `${indent}    max-time: 30`,
      `${indent}    artifacts: [dist/**]`,
      `${indent}    script:`,
      `${indent}      - npm ci`,
      `${indent}      - npm run build -- --step ${i}`,
    ].join('\n');
  const items: string[] = [];
  let n = 0;
  for (let group = 0; group < 10; group++) {
    for (let k = 0; k < 7; k++) items.push(step(++n, '    '));
    items.push(`    - parallel:\n${[0, 1, 2].map(() => step(++n, '        ')).join('\n')}`);
  }
  return `image: node:20\npipelines:\n  default:\n${items.join('\n')}\n`;
}

const generated = hundredSteps();

// Enough samples for a stable median on a shared 2-core machine.
const OPTIONS = { time: 5_000, iterations: 25 };

describe('language', () => {
  bench(
    `parse and validate the corpus (${corpus.length} files)`,
    () => {
      for (const file of corpus) parsePipelineFile(file.text, file.name);
    },
    OPTIONS,
  );

  bench(
    'parse and validate a generated 100-step pipeline',
    () => {
      const result = parsePipelineFile(generated, 'generated.yml');
      if (!result.ok) throw new Error('the generated pipeline should be valid');
    },
    OPTIONS,
  );

  const parsed = corpus.flatMap((f) => {
    const r = parsePipelineFile(f.text, f.name);
    return r.ok ? [r.file] : [];
  });
  bench(`select a pipeline for a push in every valid corpus file (${parsed.length})`, () => {
    for (const file of parsed) selectPipeline(file, { kind: 'branch', branch: 'feature/login' });
  });
});
