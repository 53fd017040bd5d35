// `npm run fuzz`: the language properties at FINALE_FUZZ_RUNS cases in all (100,000 by the config).
import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  corpusSeeds,
  generatedProperty,
  mutationsProperty,
  randomTextProperty,
  randomYamlProperty,
  repositorySeeds,
  SHARE,
  selectionProperty,
} from '../statemachine/language/properties';

const TOTAL = Number(process.env.FINALE_FUZZ_RUNS ?? 100_000);
const runs = (share: number) => ({ numRuns: Math.ceil(TOTAL * share) });

describe(`language fuzzing, ${TOTAL.toLocaleString('en')} cases`, () => {
  it('mutated corpus files', () => fc.assert(mutationsProperty(corpusSeeds()), runs(SHARE.mutations)));
  it('mutated repository files', () =>
    fc.assert(mutationsProperty(repositorySeeds()), runs(SHARE.mutations / 3)));
  it('random YAML documents', () => fc.assert(randomYamlProperty, runs(SHARE.randomYaml)));
  it('random YAML-like text', () => fc.assert(randomTextProperty, runs(SHARE.randomText)));
  it('generated valid files', () => fc.assert(generatedProperty, runs(SHARE.generated)));
  it('selection', () => fc.assert(selectionProperty, runs(SHARE.selection)));
});
