// The compiler's output verifies: every pipeline of the examples and fixtures, and a 100-step
// pipeline in well under a second.

import { describe, expect, it } from 'vitest';
import { verifyPlan } from '../../../statemachine/verify/index';
import { manySteps, planOfYaml } from '../compiler/support';
import { expectVerified, OWN_FILES, OWN_PLANS } from './support';

describe("the repository's pipelines verify", () => {
  it('covers the examples and every compiler fixture', () => {
    expect(OWN_FILES.filter((f) => f.includes('/examples/')).length).toBeGreaterThanOrEqual(2);
    expect(OWN_FILES.filter((f) => f.includes('/fixtures/')).length).toBeGreaterThanOrEqual(7);
  });

  for (const { name, plan } of OWN_PLANS) {
    it(name, () => {
      const verdict = verifyPlan(plan);
      expectVerified(verdict);
      expect(verdict.states).toBe(Object.keys(plan.definition.States).length + branchStates(plan));
      // Every state is reached by some path, so there are at least as many configurations as states.
      expect(verdict.paths).toBeGreaterThanOrEqual(verdict.states);
    });
  }
});

// How long it takes is bench/verify.bench.ts's business.
describe('a 100-step pipeline', () => {
  it('verifies', () => {
    const verdict = verifyPlan(planOfYaml(manySteps(100)));
    expectVerified(verdict);
    expect(verdict.states).toBeGreaterThan(300);
  });

  it('with its own deployment lock on every step and a final step, too', () => {
    const steps = Array.from(
      { length: 99 },
      (_, i) =>
        `    - step:\n        name: Deploy ${i + 1}\n        deployment: env-${i + 1}\n        script: [./deploy.sh]\n`,
    );
    const final = '    - final:\n        name: Tidy\n        script: [./tidy.sh]\n';
    const plan = planOfYaml(`pipelines:\n  default:\n${steps.join('')}${final}`);
    expect(plan.locks).toHaveLength(99);
    expectVerified(verifyPlan(plan));
  });
});

function branchStates(plan: (typeof OWN_PLANS)[number]['plan']): number {
  return Object.values(plan.definition.States).reduce((sum, state) => {
    const branches = (state.Branches as { States: object }[] | undefined) ?? [];
    return sum + branches.reduce((n, b) => n + Object.keys(b.States).length, 0);
  }, 0);
}

describe('a final step with on-fail retry', () => {
  // Its End has no Step.Retry catcher back to its Begin (it had one, which let a path enter the final
  // step twice): whatever on-fail says, a final step runs once.
  it('verifies', () => {
    const yaml =
      'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        name: Tidy\n' +
      '        on-fail:\n          strategy: retry\n          maxRetryCount: 2\n        script: [./tidy.sh]\n';
    expectVerified(verifyPlan(planOfYaml(yaml)));
  });
});
