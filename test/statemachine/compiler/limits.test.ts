import { describe, expect, it } from 'vitest';
import { CompileError, compile } from '../../../statemachine/compiler/index';
import { manySteps, parseFixture, planOf, planOfYaml } from './support';

describe('compile-time limits', () => {
  it('a 100-step pipeline compiles within every limit, with a worst-case history well under 25,000', () => {
    const plan = planOfYaml(manySteps(100));
    expect(plan.steps).toHaveLength(100);
    expect(plan.stats.definitionBytes).toBeLessThan(1024 * 1024);
    expect(plan.stats.worstCaseHistoryEvents).toBeLessThan(12_500);
    expect(plan.stats.transitionsPerStep).toBe(3);
  });

  it('rejects a pipeline whose retries could overflow the execution history', () => {
    const retrying = '        on-fail:\n          strategy: retry\n          maxRetryCount: 10\n';
    expect(() => planOfYaml(manySteps(100, retrying))).toThrow(CompileError);
    try {
      planOfYaml(manySteps(100, retrying));
    } catch (error) {
      expect((error as CompileError).problems).toEqual([
        expect.stringMatching(
          /^its worst case could record \d+ execution history events; Step Functions fails an execution past 25000/,
        ),
      ]);
    }
  });

  it('rejects more than 100 steps with a clear message', () => {
    // The language already rejects such a file; the compiler guards models built any other way.
    const file = parseFixture('many', manySteps(100));
    const pipeline = file.pipelines[0]!;
    const oneMore = { ...pipeline, items: [...pipeline.items, pipeline.items[0]!] };
    expect(() => compile({ file, pipeline: oneMore })).toThrow(
      'cannot compile pipeline default:\n  it has 101 steps; the limit is 100 (parallel steps count)',
    );
  });

  it('reports the state transitions of a successful run: 3 per plain step', () => {
    const plan = planOf('plain');
    // Start, Start run, 2 × (Begin, task, End), Finalize, Finish run, result, Succeed.
    expect(plan.stats.happyPathTransitions).toBe(12);
    expect(plan.stats.transitionsPerStep).toBe(3);
  });
});
