// Every corpus file that validates also compiles — every pipeline in it — into a definition that
// passes asl-validator and stays within Step Functions' limits.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { compile, LIMITS } from '../../statemachine/compiler/index';
import { readPipelineFile } from '../../statemachine/language/index';

const CORPUS = join(import.meta.dirname, '../../../shared/corpus/bitbucket-pipelines');
const files = readdirSync(CORPUS)
  .filter((name) => name.endsWith('.yml') || name.endsWith('.yaml'))
  .sort();

describe('the corpus compiles', () => {
  it('has the corpus beside the repository', () => {
    expect(files.length).toBeGreaterThanOrEqual(160);
  });

  let compiled = 0;
  for (const name of files) {
    it(name, async () => {
      const read = await readPipelineFile(join(CORPUS, name));
      if (!read.ok) return; // Rejected files are the language corpus test's business.
      for (const pipeline of read.file.pipelines) {
        const plan = compile({ file: read.file, pipeline });
        const { isValid, errorsText } = aslValidator(plan.definition as never, {
          checkArn: true,
          checkPaths: true,
        });
        expect(errorsText('\n'), `${pipeline.key}`).toBe('');
        expect(isValid).toBe(true);
        expect(plan.stats.definitionBytes).toBeLessThanOrEqual(LIMITS.definitionBytes);
        expect(plan.stats.longestStateName).toBeLessThanOrEqual(LIMITS.stateNameLength);
        expect(plan.stats.worstCaseHistoryEvents).toBeLessThan(LIMITS.historyEvents);
        compiled++;
      }
    });
  }

  it('compiled every pipeline of the valid files (more than 150 in all)', () => {
    expect(compiled).toBeGreaterThan(150);
  });
});
