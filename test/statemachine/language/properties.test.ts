// 10,000 property cases in the normal run, with nothing from outside the repository; the corpus
// mutations run in `npm run test:corpus`, and `npm run fuzz` runs everything at 100,000.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  generatedProperty,
  mutationsProperty,
  randomTextProperty,
  randomYamlProperty,
  repositorySeeds,
  SHARE,
  selectionProperty,
} from './properties';

const TOTAL = 10_000;
const runs = (share: number) => ({ numRuns: Math.ceil(TOTAL * share) });

describe('properties of the language', () => {
  it("random mutations of the repository's pipeline files yield diagnostics, never an exception", () => {
    fc.assert(mutationsProperty(repositorySeeds()), runs(SHARE.mutations));
  });

  it('random YAML documents yield diagnostics, never an exception', () => {
    fc.assert(randomYamlProperty, runs(SHARE.randomYaml));
  });

  it('random text made of YAML tokens yields diagnostics, never an exception', () => {
    fc.assert(randomTextProperty, runs(SHARE.randomText));
  });

  it('generated valid files are accepted and modelled step for step', () => {
    fc.assert(generatedProperty, runs(SHARE.generated));
  });

  it('an exact branch name wins, [skip ci] starts nothing, default never serves tags', () => {
    fc.assert(selectionProperty, runs(SHARE.selection));
  });
});
