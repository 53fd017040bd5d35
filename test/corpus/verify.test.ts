// Every pipeline of every corpus file that validates compiles into a definition `finale verify`
// proves: the final step once, then Finish run, every lock released, every error caught.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../statemachine/compiler/index';
import { readPipelineFile } from '../../statemachine/language/index';
import { formatCounterexample, verifyPlan } from '../../statemachine/verify/index';

const CORPUS = join(import.meta.dirname, '../../../shared/corpus/bitbucket-pipelines');
const files = readdirSync(CORPUS)
  .filter((name) => name.endsWith('.yml') || name.endsWith('.yaml'))
  .sort();

describe('the corpus verifies', () => {
  it('has the corpus beside the repository', () => {
    expect(files.length).toBeGreaterThanOrEqual(160);
  });

  let verified = 0;
  let milliseconds = 0;
  for (const name of files) {
    it(name, async () => {
      const read = await readPipelineFile(join(CORPUS, name));
      if (!read.ok) return; // Rejected files are the language corpus test's business.
      for (const pipeline of read.file.pipelines) {
        const plan = compile({ file: read.file, pipeline });
        const started = performance.now();
        const verdict = verifyPlan(plan);
        milliseconds += performance.now() - started;
        const shown = verdict.violations.map(
          (v) => `${pipeline.key}: ${v.property}: ${v.message}\n  ${formatCounterexample(v)}`,
        );
        expect(shown).toEqual([]);
        expect(verdict.verified).toBe(true);
        verified++;
      }
    });
  }

  it('verified every pipeline of the valid files (more than 150 in all), in a few seconds', () => {
    expect(verified).toBeGreaterThan(150);
    expect(milliseconds).toBeLessThan(5000);
  });
});
