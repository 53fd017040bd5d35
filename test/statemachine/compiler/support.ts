import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CompileInput, compile } from '../../../statemachine/compiler/index';
import type { Plan } from '../../../statemachine/compiler/plan';
import { findPipeline, parsePipelineFile } from '../../../statemachine/language/index';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

export function parseFixture(name: string, text = readFileSync(join(FIXTURES, `${name}.yml`), 'utf8')) {
  const read = parsePipelineFile(text, `${name}.yml`);
  if (!read.ok) throw new Error(read.diagnostics.map((d) => d.message).join('\n'));
  return read.file;
}

export function planOf(
  name: string,
  key = 'default',
  options: Omit<CompileInput, 'file' | 'pipeline'> = {},
  text?: string,
): Plan {
  const file = parseFixture(name, text);
  const pipeline = findPipeline(file, key);
  if (!pipeline) throw new Error(`no pipeline ${key} in ${name}`);
  return compile({ file, pipeline, ...options });
}

export function planOfYaml(
  text: string,
  key = 'default',
  options: Omit<CompileInput, 'file' | 'pipeline'> = {},
) {
  return planOf('inline', key, options, text);
}

/** A pipeline of `count` plain steps, written as YAML. */
export function manySteps(count: number, extra = ''): string {
  const steps = Array.from(
    { length: count },
    (_, i) =>
      `    - step:\n        name: Step number ${i + 1}\n${extra}        script:\n          - echo ${i + 1}\n`,
  );
  return `pipelines:\n  default:\n${steps.join('')}`;
}
