import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { FIXTURES, planOf } from './support';

// Golden files pin the exact ASL of representative pipelines. After an intended change, regenerate
// them with UPDATE_GOLDEN=1 and review the diff like code.
const CASES = ['plain', 'parallel', 'deployment-stage', 'manual', 'final', 'on-fail', 'max-time'] as const;

describe('golden state machines', () => {
  for (const name of CASES) {
    it(`${name}.yml compiles to its golden definition`, () => {
      const plan = planOf(name);
      const text = `${JSON.stringify(plan.definition, null, 2)}\n`;
      const golden = join(FIXTURES, `${name}.golden.json`);
      if (process.env.UPDATE_GOLDEN || !existsSync(golden)) writeFileSync(golden, text);
      expect(text).toBe(readFileSync(golden, 'utf8'));
    });

    it(`${name}.yml passes asl-validator`, () => {
      const { isValid, errorsText } = aslValidator(planOf(name).definition as never, {
        checkArn: true,
        checkPaths: true,
      });
      expect(errorsText('\n')).toBe('');
      expect(isValid).toBe(true);
    });
  }

  it('is deterministic: the same input gives byte-identical ASL and the same hash', () => {
    for (const name of CASES) {
      const a = planOf(name);
      const b = planOf(name);
      expect(JSON.stringify(b.definition)).toBe(JSON.stringify(a.definition));
      expect(b.hash).toBe(a.hash);
    }
  });

  it('gives different plans different hashes', () => {
    const hashes = new Set(CASES.map((name) => planOf(name).hash));
    expect(hashes.size).toBe(CASES.length);
  });
});
