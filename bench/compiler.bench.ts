// Compile: every pipeline of every valid corpus file, and a generated 100-step pipeline (goal: at most
// 10 ms median). Parsing is done once, outside the measurement: this is the compiler alone.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bench, describe } from 'vitest';
import { compile } from '../statemachine/compiler/index';
import { type PipelineFile, parsePipelineFile } from '../statemachine/language/index';

const CORPUS = resolve('../shared/corpus/bitbucket-pipelines');
const corpus: PipelineFile[] = readdirSync(CORPUS)
  .filter((name) => name.endsWith('.yml'))
  .flatMap((name) => {
    const read = parsePipelineFile(readFileSync(join(CORPUS, name), 'utf8'), name);
    return read.ok ? [read.file] : [];
  });

function hundredSteps(): PipelineFile {
  const step = (i: number, indent: string) =>
    `${indent}- step:\n${indent}    name: Step ${i}\n${indent}    max-time: 30\n${indent}    artifacts: [dist/**]\n${indent}    script:\n${indent}      - npm ci\n${indent}      - npm run build -- --step ${i}\n`;
  let n = 0;
  let items = '';
  for (let group = 0; group < 10; group++) {
    for (let k = 0; k < 7; k++) items += step(++n, '    ');
    items += `    - parallel:\n${[0, 1, 2].map(() => step(++n, '        ')).join('')}`;
  }
  const read = parsePipelineFile(`pipelines:\n  default:\n${items}`, 'hundred.yml');
  if (!read.ok) throw new Error('the generated pipeline is invalid');
  return read.file;
}
const hundred = hundredSteps();

const OPTIONS = { time: 5_000, iterations: 25 };

describe('compiler', () => {
  bench(
    `compile every pipeline of the ${corpus.length} valid corpus files`,
    () => {
      for (const file of corpus) for (const pipeline of file.pipelines) compile({ file, pipeline });
    },
    OPTIONS,
  );

  bench(
    'compile a 100-step pipeline (goal ≤ 10 ms)',
    () => {
      compile({ file: hundred, pipeline: hundred.pipelines[0]! });
    },
    OPTIONS,
  );
});
