// Random mutations of the real corpus files: 10,000 cases, diagnostics only, never an exception.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { corpusSeeds, mutationsProperty } from '../statemachine/language/properties';

describe('properties over the corpus', () => {
  it('random mutations of corpus files yield diagnostics, never an exception', () => {
    fc.assert(mutationsProperty(corpusSeeds()), { numRuns: 10_000 });
  });
});
