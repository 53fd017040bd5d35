// `finale verify`: the proof over a generated 100-step pipeline (310 states), compiled once outside
// the measurement.
import { bench, describe } from 'vitest';
import { verifyPlan } from '../statemachine/verify/index';
import { manySteps, planOfYaml } from '../test/statemachine/compiler/support';

const plan = planOfYaml(manySteps(100));

describe('verify', () => {
  bench(
    'prove a 100-step pipeline',
    () => {
      verifyPlan(plan);
    },
    { time: 5_000, iterations: 25 },
  );
});
